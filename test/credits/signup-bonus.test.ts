import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  call,
  backends,
  createTestApp,
  freshEmail,
  freshIp,
  registerUser,
  STRONG_PASSWORD,
  type TestApp,
} from '#test/helpers/test-app.ts';

const DAY = 24 * 3600 * 1000;

/** Reads what a person and an auditor would look at: the balance route and the user's ledger rows. */
function reader(t: TestApp) {
  const db = () => t.app.services.database.db;
  return {
    ledger: (userId: string) => db().selectFrom('credit_ledger').selectAll().where('user_id', '=', userId).execute(),
    allLedgerRows: async () =>
      Number(
        (
          await db()
            .selectFrom('credit_ledger')
            .select((eb) => eb.fn.countAll().as('n'))
            .executeTakeFirstOrThrow()
        ).n,
      ),
    users: async (email: string) =>
      Number(
        (
          await db()
            .selectFrom('users')
            .select((eb) => eb.fn.countAll().as('n'))
            .where('email', '=', email)
            .executeTakeFirstOrThrow()
        ).n,
      ),
    accounts: async (userId: string) =>
      Number(
        (
          await db()
            .selectFrom('credit_accounts')
            .select((eb) => eb.fn.countAll().as('n'))
            .where('user_id', '=', userId)
            .executeTakeFirstOrThrow()
        ).n,
      ),
    balance: async (token: string) => (await call(t.app, 'GET', '/api/credits/balance', { token })).json(),
  };
}

describe.each(backends())('sign-up bonus on $label', (backend) => {
  describe('with the defaults', () => {
    let t: TestApp;
    let read: ReturnType<typeof reader>;
    beforeAll(async () => {
      t = await createTestApp(backend);
      read = reader(t);
    });
    afterAll(() => t.close());

    it('gives a new account exactly 1000 credits as one signup_bonus row', async () => {
      expect(t.config.SIGNUP_BONUS).toBe(1000);
      const user = await registerUser(t);
      expect(await read.balance(user.accessToken)).toEqual({ credits: 1000, held: 0, available: 1000 });
      expect(await read.ledger(user.id)).toEqual([
        expect.objectContaining({
          amount: 1000,
          balance_after: 1000,
          kind: 'signup_bonus',
          idempotency_key: `signup:${user.id}`,
        }),
      ]);
      const history = (await call(t.app, 'GET', '/api/credits/history', { token: user.accessToken })).json();
      expect(history).toMatchObject({ total: 1, items: [{ amount: 1000, type: 'signup_bonus' }] });
    });

    it('grants the bonus in the transaction that creates the account: a creation that fails writes neither', async () => {
      const email = freshEmail('rollback');
      const rowsBefore = await read.allLedgerRows();
      let createdId = '';
      const creation = t.app.services.users.create(
        { email, username: 'rollback', password: STRONG_PASSWORD },
        async (trx, user) => {
          createdId = user.id;
          await t.app.services.credits.openAccount(trx, user.id, 1000);
          throw new Error('the disk filled up after the bonus');
        },
      );
      await expect(creation).rejects.toThrow('the disk filled up');
      expect(createdId).not.toBe('');
      expect(await read.users(email)).toBe(0);
      expect(await read.accounts(createdId)).toBe(0);
      expect(await read.ledger(createdId)).toEqual([]);
      expect(await read.allLedgerRows()).toBe(rowsBefore);
    });

    it('writes nothing for a registration refused over HTTP, and nothing more for a second one with a taken email', async () => {
      const email = freshEmail('refused');
      const ip = freshIp();
      await call(t.app, 'POST', '/api/auth/send-code', { body: { email }, ip });
      const code = t.lastCode(email);
      const rowsBefore = await read.allLedgerRows();
      const wrong = await call(t.app, 'POST', '/api/auth/register', {
        body: { email, password: STRONG_PASSWORD, username: 'r', code: code === '000000' ? '111111' : '000000' },
        ip,
      });
      expect(wrong.statusCode).toBe(400);
      expect(await read.users(email)).toBe(0);
      expect(await read.allLedgerRows()).toBe(rowsBefore);

      const ok = await call(t.app, 'POST', '/api/auth/register', {
        body: { email, password: STRONG_PASSWORD, username: 'r', code },
        ip,
      });
      expect(ok.statusCode).toBe(200);
      const user = ok.json<{ user: { id: string } }>().user;
      await expect(
        t.app.services.users.create({ email, username: 'again', password: STRONG_PASSWORD }, (trx, row) =>
          t.app.services.credits.openAccount(trx, row.id, 1000),
        ),
      ).rejects.toMatchObject({
        code: 'EMAIL_ALREADY_REGISTERED',
      });
      expect(await read.allLedgerRows()).toBe(rowsBefore + 1);
      expect(await read.ledger(user.id)).toHaveLength(1);
    });
  });

  describe('with SIGNUP_BONUS=0', () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await createTestApp(backend, { env: { SIGNUP_BONUS: '0' } });
    });
    afterAll(() => t.close());

    it('opens an empty account and writes no ledger row', async () => {
      const read = reader(t);
      const user = await registerUser(t);
      expect(await read.balance(user.accessToken)).toEqual({ credits: 0, held: 0, available: 0 });
      expect(await read.ledger(user.id)).toEqual([]);
      expect(await read.accounts(user.id)).toBe(1);
      expect((await call(t.app, 'GET', '/api/credits/history', { token: user.accessToken })).json()).toEqual({
        items: [],
        total: 0,
        page: 1,
        limit: 20,
      });
    });
  });

  describe('with SIGNUP_BONUS=250 and SIGNUP_BONUS_PER_IP_DAILY=2', () => {
    let t: TestApp;
    let read: ReturnType<typeof reader>;
    beforeAll(async () => {
      t = await createTestApp(backend, { env: { SIGNUP_BONUS: '250', SIGNUP_BONUS_PER_IP_DAILY: '2' } });
      read = reader(t);
    });
    afterAll(() => t.close());

    const credits = async (ip: string) => {
      const user = await registerUser(t, { ip });
      const { credits: balance } = await read.balance(user.accessToken);
      expect(await read.ledger(user.id)).toHaveLength(balance === 0 ? 0 : 1);
      return balance as number;
    };

    it('gives the bonus to the first two accounts of an IP per day, and again the next day', async () => {
      const ip = freshIp();
      expect([await credits(ip), await credits(ip), await credits(ip)]).toEqual([250, 250, 0]);
      expect(await credits(freshIp())).toBe(250);
      t.clock.advance(DAY);
      expect([await credits(ip), await credits(ip), await credits(ip)]).toEqual([250, 250, 0]);
    });

    it('holds the limit when the accounts are created at once', async () => {
      const ip = freshIp();
      const balances = await Promise.all(Array.from({ length: 5 }, () => credits(ip)));
      expect(balances.filter((b) => b === 250)).toHaveLength(2);
      expect(balances.filter((b) => b === 0)).toHaveLength(3);
    });
  });
});

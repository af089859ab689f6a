import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { CreditsService } from '#modules/credits/credits.service.ts';
import { backends, createTestApp, freshEmail, STRONG_PASSWORD, type TestApp } from '#test/helpers/test-app.ts';

const key = (tag = 'k') => `test:${tag}:${randomUUID()}`;
const topUp = (idempotencyKey = key('top-up')) => ({ kind: 'recharge' as const, reason: 'Top-up', idempotencyKey });
const usage = { reason: 'chat completion' };
const insufficient = { code: 'INSUFFICIENT_CREDITS' };

describe.each(backends())('credit ledger on $label', (backend) => {
  let t: TestApp;
  let credits: CreditsService;
  const users: string[] = [];
  beforeAll(async () => {
    t = await createTestApp(backend);
    credits = t.app.services.credits;
  });
  afterAll(() => t.close());

  const db = () => t.app.services.database.db;
  const ledger = (userId: string) =>
    db().selectFrom('credit_ledger').selectAll().where('user_id', '=', userId).orderBy('id').execute();
  const holds = (userId: string) => db().selectFrom('credit_holds').selectAll().where('user_id', '=', userId).execute();
  const hold = (id: string) =>
    db().selectFrom('credit_holds').selectAll().where('id', '=', id).executeTakeFirstOrThrow();

  /** A user with an empty credit account, then topped up to `balance` (one ledger row). */
  async function userWith(balance: number): Promise<string> {
    const user = await t.app.services.users.create(
      { email: freshEmail('ledger'), username: 'ledger', password: STRONG_PASSWORD },
      (trx, row) => credits.openAccount(trx, row.id, 0),
    );
    users.push(user.id);
    if (balance > 0) await credits.grant(user.id, balance, topUp());
    return user.id;
  }

  // docs/money.md rule 1 after every scenario: balance = Σ ledger rows, held = Σ open holds, for everyone touched.
  afterEach(async () => {
    for (const userId of users.splice(0)) {
      const account = await credits.account(userId);
      const rows = await ledger(userId);
      expect(account.balance).toBe(rows.reduce((sum, row) => sum + Number(row.amount), 0));
      expect(account.balance).toBe(await credits.ledgerSum(userId));
      const open = (await holds(userId)).filter((h) => h.status === 'open');
      expect(account.held).toBe(open.reduce((sum, h) => sum + Number(h.amount), 0));
    }
  });

  describe('grant', () => {
    it('adds one ledger row and moves the balance by exactly the amount', async () => {
      const userId = await userWith(0);
      const result = await credits.grant(userId, 250, {
        kind: 'recharge',
        reason: 'Top-up',
        reference: 'order-1',
        idempotencyKey: key(),
      });
      expect(result).toMatchObject({ applied: true, balance: 250 });
      expect(result.entry).toMatchObject({
        user_id: userId,
        amount: 250,
        balance_after: 250,
        kind: 'recharge',
        reason: 'Top-up',
        reference: 'order-1',
      });
      expect(await credits.account(userId)).toEqual({ balance: 250, held: 0, available: 250 });
      expect(await ledger(userId)).toEqual([expect.objectContaining({ id: result.entry.id, amount: 250 })]);
    });

    it('replaying an idempotency key changes nothing and answers the first entry, even when raced', async () => {
      const userId = await userWith(100);
      const movement = topUp();
      const first = await credits.grant(userId, 40, movement);
      const replay = await credits.grant(userId, 999, movement);
      expect(replay).toEqual({ applied: false, balance: 140, entry: first.entry });

      const raced = topUp();
      const results = await Promise.all(Array.from({ length: 10 }, () => credits.grant(userId, 7, raced)));
      expect(results.filter((r) => r.applied)).toHaveLength(1);
      expect(new Set(results.map((r) => r.entry.id)).size).toBe(1);
      expect((await credits.account(userId)).balance).toBe(147);
      expect(await ledger(userId)).toHaveLength(3);
    });

    it('refuses an idempotency key another user used, and moves nothing for either', async () => {
      const [alice, bob] = [await userWith(100), await userWith(100)];
      const grantKey = key();
      await credits.grant(alice, 10, topUp(grantKey));
      await expect(credits.grant(bob, 10, topUp(grantKey))).rejects.toThrow(/another user/);
      const holdKey = key();
      await credits.reserve(alice, 30, { idempotencyKey: holdKey });
      await expect(credits.reserve(bob, 30, { idempotencyKey: holdKey })).rejects.toThrow(/another user/);
      expect(await credits.account(alice)).toEqual({ balance: 110, held: 30, available: 80 });
      expect(await credits.account(bob)).toEqual({ balance: 100, held: 0, available: 100 });
    });

    it('a negative grant never takes the available credits below zero, and a refused one writes nothing', async () => {
      const userId = await userWith(100);
      await credits.reserve(userId, 30, { idempotencyKey: key() });
      const before = await ledger(userId);
      await expect(
        credits.grant(userId, -71, { kind: 'admin_adjust', reason: 'take', idempotencyKey: key() }),
      ).rejects.toMatchObject(insufficient);
      expect(await credits.account(userId)).toEqual({ balance: 100, held: 30, available: 70 });
      expect(await ledger(userId)).toEqual(before);

      const taken = await credits.grant(userId, -70, { kind: 'admin_adjust', reason: 'take', idempotencyKey: key() });
      expect(taken).toMatchObject({ applied: true, balance: 30, entry: { amount: -70, balance_after: 30 } });
      expect(await credits.account(userId)).toEqual({ balance: 30, held: 30, available: 0 });
    });

    it('concurrent negative grants take at most what is there', async () => {
      const userId = await userWith(100);
      const outcomes = await Promise.allSettled(
        Array.from({ length: 12 }, () =>
          credits.grant(userId, -15, { kind: 'admin_adjust', reason: 'take', idempotencyKey: key() }),
        ),
      );
      expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(6);
      for (const o of outcomes) if (o.status === 'rejected') expect(o.reason).toMatchObject(insufficient);
      expect(await credits.account(userId)).toEqual({ balance: 10, held: 0, available: 10 });
    });

    it('opens the account of a user who has none (the bootstrap admin) on the first grants, even when they race', async () => {
      const user = await t.app.services.users.create({
        email: freshEmail('no-account'),
        username: 'legacy',
        password: STRONG_PASSWORD,
      });
      users.push(user.id);
      expect(await credits.account(user.id)).toEqual({ balance: 0, held: 0, available: 0 });
      await expect(credits.reserve(user.id, 1, { idempotencyKey: key() })).rejects.toMatchObject(insufficient);
      const results = await Promise.all([5, 6, 7, 8, 9, 10].map((amount) => credits.grant(user.id, amount, topUp())));
      expect(results.every((r) => r.applied)).toBe(true);
      expect(await credits.account(user.id)).toEqual({ balance: 45, held: 0, available: 45 });
    });

    it('refuses a zero or fractional amount and writes nothing', async () => {
      const userId = await userWith(50);
      for (const amount of [0, 1.5, Number.NaN])
        await expect(credits.grant(userId, amount, topUp())).rejects.toThrow(RangeError);
      expect(await ledger(userId)).toHaveLength(1);
    });
  });

  describe('reserve', () => {
    it('holds credits: available drops, the balance and the ledger do not move', async () => {
      const userId = await userWith(100);
      const h = await credits.reserve(userId, 40, { idempotencyKey: key(), reference: 'req-1' });
      expect(h).toEqual({ id: expect.any(String), userId, amount: 40 });
      expect(await credits.account(userId)).toEqual({ balance: 100, held: 40, available: 60 });
      expect(await hold(h.id)).toMatchObject({
        status: 'open',
        amount: 40,
        reference: 'req-1',
        expires_at: t.clock.now() + t.config.CREDIT_HOLD_TTL * 1000,
      });
      expect(await ledger(userId)).toHaveLength(1);
    });

    it('a hold larger than the available credits fails and writes nothing', async () => {
      const userId = await userWith(100);
      await credits.reserve(userId, 60, { idempotencyKey: key() });
      await expect(credits.reserve(userId, 41, { idempotencyKey: key() })).rejects.toMatchObject(insufficient);
      expect(await holds(userId)).toHaveLength(1);
      expect(await credits.account(userId)).toEqual({ balance: 100, held: 60, available: 40 });
      await credits.reserve(userId, 40, { idempotencyKey: key() });
      expect(await credits.account(userId)).toMatchObject({ available: 0 });
    });

    it('50 concurrent holds never exceed the balance: exactly floor(balance / amount) succeed', async () => {
      const userId = await userWith(100);
      const outcomes = await Promise.allSettled(
        Array.from({ length: 50 }, () => credits.reserve(userId, 7, { idempotencyKey: key() })),
      );
      const won = outcomes.filter((o) => o.status === 'fulfilled');
      expect(won).toHaveLength(Math.floor(100 / 7));
      for (const o of outcomes) if (o.status === 'rejected') expect(o.reason).toMatchObject(insufficient);
      expect(await credits.account(userId)).toEqual({ balance: 100, held: 98, available: 2 });
      expect((await holds(userId)).filter((h) => h.status === 'open')).toHaveLength(14);
    });

    it('replaying the idempotency key returns the same hold and holds once, even when raced', async () => {
      const userId = await userWith(100);
      const idempotencyKey = key();
      const first = await credits.reserve(userId, 30, { idempotencyKey });
      expect(await credits.reserve(userId, 30, { idempotencyKey })).toEqual(first);

      const raced = key();
      const results = await Promise.all(
        Array.from({ length: 8 }, () => credits.reserve(userId, 20, { idempotencyKey: raced })),
      );
      expect(new Set(results.map((r) => r.id)).size).toBe(1);
      expect(await credits.account(userId)).toEqual({ balance: 100, held: 50, available: 50 });

      await credits.settle(first.id, 30, usage);
      expect(await credits.reserve(userId, 30, { idempotencyKey })).toEqual(first); // a closed hold is not reopened
      expect(await credits.account(userId)).toEqual({ balance: 70, held: 20, available: 50 });
    });
  });

  describe('settle and release', () => {
    it('settle charges exactly the price, frees the rest and writes one usage row', async () => {
      const userId = await userWith(100);
      const h = await credits.reserve(userId, 40, { idempotencyKey: key(), reference: 'req-2' });
      expect(await credits.settle(h.id, 25, usage)).toEqual({ applied: true, charged: 25 });
      expect(await credits.account(userId)).toEqual({ balance: 75, held: 0, available: 75 });
      expect((await ledger(userId)).at(-1)).toMatchObject({
        amount: -25,
        balance_after: 75,
        kind: 'usage',
        reference: 'req-2',
        idempotency_key: `hold:${h.id}`,
      });
      expect(await hold(h.id)).toMatchObject({ status: 'settled', charged: 25, closed_at: t.clock.now() });
    });

    it('a settle above the hold is the only way into debt, and a user in debt can hold nothing', async () => {
      const userId = await userWith(50);
      const h = await credits.reserve(userId, 50, { idempotencyKey: key() });
      expect(await credits.settle(h.id, 80, usage)).toEqual({ applied: true, charged: 80 });
      expect(await credits.account(userId)).toEqual({ balance: -30, held: 0, available: -30 });
      expect(await hold(h.id)).toMatchObject({ amount: 50, charged: 80 });
      await expect(credits.reserve(userId, 1, { idempotencyKey: key() })).rejects.toMatchObject(insufficient);
      await expect(
        credits.grant(userId, -1, { kind: 'admin_adjust', reason: 'take', idempotencyKey: key() }),
      ).rejects.toMatchObject(insufficient);

      await credits.grant(userId, 40, topUp());
      await credits.reserve(userId, 10, { idempotencyKey: key() });
      await expect(credits.reserve(userId, 1, { idempotencyKey: key() })).rejects.toMatchObject(insufficient);
      expect(await credits.account(userId)).toEqual({ balance: 10, held: 10, available: 0 });
    });

    it('a settle of 0 frees the hold and writes no ledger row', async () => {
      const userId = await userWith(100);
      const h = await credits.reserve(userId, 40, { idempotencyKey: key() });
      expect(await credits.settle(h.id, 0, usage)).toEqual({ applied: true, charged: 0 });
      expect(await credits.account(userId)).toEqual({ balance: 100, held: 0, available: 100 });
      expect(await ledger(userId)).toHaveLength(1);
      expect(await hold(h.id)).toMatchObject({ status: 'settled', charged: 0 });
    });

    it('release frees the hold without a charge', async () => {
      const userId = await userWith(100);
      const h = await credits.reserve(userId, 40, { idempotencyKey: key() });
      expect(await credits.release(h.id)).toBe(true);
      expect(await credits.account(userId)).toEqual({ balance: 100, held: 0, available: 100 });
      expect(await ledger(userId)).toHaveLength(1);
      expect(await hold(h.id)).toMatchObject({ status: 'released', charged: null });
    });

    it('a second settle or release of a closed hold changes nothing', async () => {
      const userId = await userWith(100);
      const settled = await credits.reserve(userId, 40, { idempotencyKey: key() });
      await credits.settle(settled.id, 30, usage);
      expect(await credits.settle(settled.id, 35, usage)).toEqual({ applied: false, charged: 30 });
      expect(await credits.release(settled.id)).toBe(false);

      const released = await credits.reserve(userId, 20, { idempotencyKey: key() });
      await credits.release(released.id);
      expect(await credits.release(released.id)).toBe(false);
      expect(await credits.settle(released.id, 20, usage)).toEqual({ applied: false, charged: 0 });

      expect(await credits.account(userId)).toEqual({ balance: 70, held: 0, available: 70 });
      expect(await ledger(userId)).toHaveLength(2);
    });

    it('racing settles and releases of one hold close it exactly once', async () => {
      const userId = await userWith(100);
      const h = await credits.reserve(userId, 50, { idempotencyKey: key() });
      const [settles, releases] = await Promise.all([
        Promise.all([10, 20, 30, 40, 50, 60].map((charge) => credits.settle(h.id, charge, usage))),
        Promise.all(Array.from({ length: 4 }, () => credits.release(h.id))),
      ]);
      const applied = settles.filter((s) => s.applied);
      expect(applied.length + releases.filter(Boolean).length).toBe(1);
      const charged = applied[0]?.charged ?? 0;
      // Every loser reports what the winner charged.
      for (const s of settles) expect(s.charged).toBe(charged);
      expect(await credits.account(userId)).toEqual({ balance: 100 - charged, held: 0, available: 100 - charged });
      expect(await ledger(userId)).toHaveLength(charged > 0 ? 2 : 1);
    });

    it('a hold that does not exist cannot be settled or released', async () => {
      await expect(credits.settle(randomUUID(), 5, usage)).rejects.toMatchObject({ code: 'NOT_FOUND' });
      expect(await credits.release(randomUUID())).toBe(false);
    });
  });
});

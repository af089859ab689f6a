import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ADMIN_ENV,
  adminToken,
  backends,
  call,
  createTestApp,
  registerUser,
  type RegisteredUser,
  type TestApp,
} from '#test/helpers/test-app.ts';

const INSUFFICIENT = '积分不足';

describe.each(backends())('credits routes on $label', (backend) => {
  let t: TestApp;
  let admin: string;
  let adminId: string;
  beforeAll(async () => {
    t = await createTestApp(backend, { env: ADMIN_ENV });
    admin = await adminToken(t);
    adminId = (await t.app.services.users.findByEmail(ADMIN_ENV.ADMIN_EMAIL))!.id;
  });
  afterAll(() => t.close());

  const db = () => t.app.services.database.db;
  const allLedgerRows = async () =>
    Number(
      (
        await db()
          .selectFrom('credit_ledger')
          .select((eb) => eb.fn.countAll().as('n'))
          .executeTakeFirstOrThrow()
      ).n,
    );
  const balance = async (user: RegisteredUser) =>
    (await call(t.app, 'GET', '/api/credits/balance', { token: user.accessToken })).json();
  const adjust = (userId: string, body: unknown, options: { token?: string; key?: string } = {}) =>
    call(t.app, 'POST', `/api/admin/users/${userId}/credits`, {
      token: options.token ?? admin,
      body,
      ...(options.key === undefined ? {} : { headers: { 'idempotency-key': options.key } }),
    });

  /** Asserts a 4xx envelope and that not one ledger row was written meanwhile. */
  async function refused(
    request: () => Promise<{ statusCode: number; json(): unknown }>,
    status: number,
    code?: string,
  ) {
    const before = await allLedgerRows();
    const res = await request();
    expect(res.statusCode).toBe(status);
    expect(res.json()).toMatchObject({
      success: false,
      statusCode: status,
      message: expect.any(String),
      path: expect.stringMatching(/^\/api\//),
      ...(code ? { code } : {}),
    });
    expect(await allLedgerRows()).toBe(before);
    return res.json() as Record<string, unknown>;
  }

  describe('GET /api/credits/balance', () => {
    it('answers {credits, held, available}, and held follows the open holds', async () => {
      const user = await registerUser(t);
      expect(await balance(user)).toEqual({ credits: 1000, held: 0, available: 1000 });
      const hold = await t.app.services.credits.reserve(user.id, 300, { idempotencyKey: `test:${randomUUID()}` });
      expect(await balance(user)).toEqual({ credits: 1000, held: 300, available: 700 });
      await t.app.services.credits.settle(hold.id, 120, { reason: 'chat' });
      expect(await balance(user)).toEqual({ credits: 880, held: 0, available: 880 });
    });

    it('refuses a missing or a forged token with 401', async () => {
      for (const token of [undefined, 'not-a-jwt']) {
        for (const url of ['/api/credits/balance', '/api/credits/history']) {
          const res = await call(t.app, 'GET', url, token ? { token } : {});
          expect(res.statusCode).toBe(401);
          expect(res.json()).toMatchObject({ success: false, statusCode: 401, code: 'UNAUTHORIZED', path: url });
        }
      }
    });
  });

  describe('GET /api/credits/history', () => {
    let user: RegisteredUser;
    beforeAll(async () => {
      user = await registerUser(t);
      for (let i = 1; i <= 24; i++) {
        t.clock.advance(1000);
        await t.app.services.credits.grant(user.id, i, {
          kind: 'recharge',
          reason: `top-up ${i}`,
          idempotencyKey: `test:history:${user.id}:${i}`,
        });
      }
    });
    const history = (query = '') => call(t.app, 'GET', `/api/credits/history${query}`, { token: user.accessToken });

    it('pages 20 at a time by default, newest first, in the seed shape', async () => {
      const res = await history();
      expect(res.statusCode).toBe(200);
      const body = res.json();
      expect(body).toMatchObject({ total: 25, page: 1, limit: 20 });
      expect(body.items).toHaveLength(20);
      expect(body.items[0]).toEqual({
        id: expect.any(String),
        amount: 24,
        type: 'recharge',
        reason: 'top-up 24',
        balanceAfter: 1000 + (24 * 25) / 2,
        reference: null,
        createdAt: new Date(t.clock.now()).toISOString(),
      });
      const times = body.items.map((item: { createdAt: string }) => Date.parse(item.createdAt));
      expect(times).toEqual([...times].sort((a, b) => b - a));
      expect(body.items.map((item: { amount: number }) => item.amount)).toEqual(
        Array.from({ length: 20 }, (_, i) => 24 - i),
      );
    });

    it('walks every page once, ending with the sign-up bonus', async () => {
      const seen: string[] = [];
      for (let page = 1; page <= 4; page++) {
        const body = (await history(`?page=${page}&limit=7`)).json();
        expect(body).toMatchObject({ total: 25, page, limit: 7 });
        expect(body.items).toHaveLength(page < 4 ? 7 : 4);
        seen.push(...body.items.map((item: { id: string }) => item.id));
      }
      expect(new Set(seen).size).toBe(25);
      const last = (await history('?page=2')).json();
      expect(last.items).toHaveLength(5);
      expect(last.items.at(-1)).toMatchObject({ amount: 1000, type: 'signup_bonus', balanceAfter: 1000 });
      expect((await history('?page=9&limit=100')).json()).toEqual({ items: [], total: 25, page: 9, limit: 100 });
    });

    it.each([
      '?page=0',
      '?page=-1',
      '?page=1.5',
      '?limit=0',
      '?limit=101',
      '?limit=1000',
      '?limit=abc',
      '?page=x',
      '?foo=1',
      '?page=1&sort=asc',
    ])('refuses %s with a 400 envelope', async (query) => {
      const body = await refused(() => history(query), 400, 'VALIDATION_FAILED');
      expect(body.error).toBe('Bad Request');
    });
  });

  describe('POST /api/admin/users/:id/credits', () => {
    it('adds and takes credits as admin_adjust rows the user sees', async () => {
      const user = await registerUser(t);
      const added = await adjust(user.id, { amount: 500, reason: '补偿' });
      expect(added.statusCode).toBe(200);
      expect(added.json()).toMatchObject({
        applied: true,
        balance: 1500,
        entry: { amount: 500, type: 'admin_adjust', reason: '补偿', reference: adminId, balanceAfter: 1500 },
      });
      const taken = await adjust(user.id, { amount: -300, reason: 'correction' });
      expect(taken.json()).toMatchObject({
        applied: true,
        balance: 1200,
        entry: { amount: -300, type: 'admin_adjust' },
      });
      expect(await balance(user)).toEqual({ credits: 1200, held: 0, available: 1200 });
      const items = (await call(t.app, 'GET', '/api/credits/history', { token: user.accessToken })).json().items;
      expect(items.map((i: { type: string; amount: number }) => [i.type, i.amount])).toEqual([
        ['admin_adjust', -300],
        ['admin_adjust', 500],
        ['signup_bonus', 1000],
      ]);
    });

    it('refuses to take more than the available credits with 402 and writes nothing', async () => {
      const user = await registerUser(t);
      const body = await refused(
        () => adjust(user.id, { amount: -1001, reason: 'too much' }),
        402,
        'INSUFFICIENT_CREDITS',
      );
      expect(body.message).toBe(INSUFFICIENT);
      await t.app.services.credits.reserve(user.id, 400, { idempotencyKey: `test:${randomUUID()}` });
      await refused(() => adjust(user.id, { amount: -601, reason: 'held credits are not available' }), 402);
      expect(await balance(user)).toEqual({ credits: 1000, held: 400, available: 600 });
    });

    it.each([
      ['amount 0', { amount: 0, reason: 'x' }],
      ['a fractional amount', { amount: 1.5, reason: 'x' }],
      ['an amount as text', { amount: '100', reason: 'x' }],
      ['a missing amount', { reason: 'x' }],
      ['a missing reason', { amount: 10 }],
      ['an empty reason', { amount: 10, reason: '' }],
      ['a reason over 255 characters', { amount: 10, reason: 'x'.repeat(256) }],
      ['an unknown field', { amount: 10, reason: 'x', note: 'y' }],
      ['an amount beyond the limit', { amount: 2_000_000_000, reason: 'x' }],
    ])('refuses %s with 400 and writes nothing', async (_name, body) => {
      const user = await registerUser(t);
      await refused(() => adjust(user.id, body), 400, 'VALIDATION_FAILED');
      expect(await balance(user)).toEqual({ credits: 1000, held: 0, available: 1000 });
    });

    it('refuses an unknown user with 404 and a malformed id with 400, writing nothing', async () => {
      await refused(() => adjust(randomUUID(), { amount: 10, reason: 'x' }), 404, 'NOT_FOUND');
      await refused(() => adjust('x'.repeat(37), { amount: 10, reason: 'x' }), 400);
    });

    it('moves the credits once for one Idempotency-Key, even when the retries race', async () => {
      const user = await registerUser(t);
      const key = randomUUID();
      const first = await adjust(user.id, { amount: 250, reason: 'promo' }, { key });
      const again = await adjust(user.id, { amount: 250, reason: 'promo' }, { key });
      expect(again.statusCode).toBe(200);
      expect(again.json()).toMatchObject({ applied: false, balance: 1250, entry: { id: first.json().entry.id } });

      const raced = randomUUID();
      const results = await Promise.all(
        Array.from({ length: 5 }, () => adjust(user.id, { amount: -50, reason: 'fee' }, { key: raced })),
      );
      expect(results.map((r) => r.statusCode)).toEqual([200, 200, 200, 200, 200]);
      expect(results.filter((r) => r.json().applied)).toHaveLength(1);
      expect(await balance(user)).toMatchObject({ credits: 1200 });

      // Without a key every request is its own movement; a key is scoped to its user.
      await adjust(user.id, { amount: 1, reason: 'a' });
      await adjust(user.id, { amount: 1, reason: 'a' });
      const other = await registerUser(t);
      expect((await adjust(other.id, { amount: 250, reason: 'promo' }, { key })).json().applied).toBe(true);
      expect(await balance(user)).toMatchObject({ credits: 1202 });
    });

    it('refuses an empty or over-long Idempotency-Key rather than ignoring it', async () => {
      const user = await registerUser(t);
      for (const key of ['', 'k'.repeat(129)])
        await refused(() => adjust(user.id, { amount: 5, reason: 'x' }, { key }), 400, 'VALIDATION_FAILED');
      expect(await balance(user)).toMatchObject({ credits: 1000 });
    });
  });

  describe('GET /api/admin/users/:id/credits/history', () => {
    it("reads another user's ledger, paged", async () => {
      const user = await registerUser(t);
      await adjust(user.id, { amount: 7, reason: 'gift' });
      const res = await call(t.app, 'GET', `/api/admin/users/${user.id}/credits/history?limit=1`, { token: admin });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toMatchObject({
        total: 2,
        page: 1,
        limit: 1,
        items: [{ amount: 7, type: 'admin_adjust', reason: 'gift' }],
      });
      await refused(
        () => call(t.app, 'GET', `/api/admin/users/${randomUUID()}/credits/history`, { token: admin }),
        404,
      );
      await refused(
        () => call(t.app, 'GET', `/api/admin/users/${user.id}/credits/history?limit=0`, { token: admin }),
        400,
      );
    });
  });

  describe('admin routes as a plain user', () => {
    it('answer 403 and write nothing, even for the caller’s own account', async () => {
      const user = await registerUser(t);
      const victim = await registerUser(t);
      for (const target of [user.id, victim.id]) {
        await refused(
          () => adjust(target, { amount: 1_000_000, reason: 'free money' }, { token: user.accessToken }),
          403,
          'FORBIDDEN',
        );
        await refused(
          () => call(t.app, 'GET', `/api/admin/users/${target}/credits/history`, { token: user.accessToken }),
          403,
          'FORBIDDEN',
        );
      }
      await refused(() => adjust(victim.id, { amount: 5, reason: 'x' }, { token: '' }), 401);
      expect(await balance(user)).toEqual({ credits: 1000, held: 0, available: 1000 });
      expect(await balance(victim)).toEqual({ credits: 1000, held: 0, available: 1000 });
    });
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  adminToken,
  backends,
  call,
  createTestApp,
  freshIp,
  registerUser,
  type TestApp,
} from '#test/helpers/test-app.ts';
import {
  codeRow,
  DAY,
  makeCodes,
  MESSAGES,
  oneCode,
  redeem,
  REDEEM_ENV,
  redeemLedger,
  registerUsers,
  snapshot,
} from './helpers.ts';

describe.each(backends())('redeeming codes on $label', (backend) => {
  let t: TestApp;
  let admin: string;
  beforeAll(async () => {
    t = await createTestApp(backend, { env: REDEEM_ENV });
    admin = await adminToken(t);
  });
  afterAll(() => t.close());

  const balanceOf = async (token: string) =>
    (await call(t.app, 'GET', '/api/credits/balance', { token })).json<{ credits: number }>().credits;

  it('turns a code into credits: the answer, the balance, a redeem ledger row and the code used up', async () => {
    const user = await registerUser(t);
    const code = await oneCode(t, admin, { credits: 250 });
    const res = await redeem(t, user, code.code);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({
      success: true,
      creditsAdded: 250,
      totalCredits: 1250,
      message: '兑换成功，获得 250 积分',
    });
    expect(await balanceOf(user.accessToken)).toBe(1250);

    const ledger = await redeemLedger(t, user.id);
    expect(ledger).toHaveLength(1);
    expect(ledger[0]).toMatchObject({ amount: 250, balance_after: 1250, kind: 'redeem', reference: code.id });
    expect(await t.app.services.credits.ledgerSum(user.id)).toBe(1250);
    expect(await codeRow(t, code.id)).toMatchObject({ used_count: 1 });

    const history = await call(t.app, 'GET', '/api/credits/history', { token: user.accessToken });
    expect(history.json().items[0]).toMatchObject({ type: 'redeem', amount: 250 });
    expect(
      (await call(t.app, 'GET', `/api/admin/redeem-codes?batchId=${code.batchId}`, { token: admin })).json().items[0],
    ).toMatchObject({ state: 'used', usedCount: 1 });
  });

  it('ignores case, spaces and dashes, reads O as 0 and I/L as 1, and accepts the code without its TG- prefix', async () => {
    const user = await registerUser(t);
    const { codes } = await makeCodes(t, admin, { count: 6, credits: 10 });
    const typed = [
      (c: string) => c.toLowerCase(),
      (c: string) => `  ${c.replace(/-/g, ' ')}  `,
      (c: string) => c.replace(/-/g, ''),
      (c: string) => c.slice(3),
      (c: string) => c.slice(3).toLowerCase().replace(/-/g, ''),
      (c: string) => c.replace(/0/g, 'O').replace(/1/g, 'l'),
    ];
    for (const [i, variant] of typed.entries()) {
      const res = await redeem(t, user, variant(codes[i]!.code));
      expect(res.statusCode, variant(codes[i]!.code)).toBe(200);
    }
    expect(await balanceOf(user.accessToken)).toBe(1060);
    expect(await redeemLedger(t, user.id)).toHaveLength(6);
  });

  it('refuses an unknown, a used, a disabled and an expired code with its own message, and writes nothing', async () => {
    const user = await registerUser(t);
    const other = await registerUser(t);
    const used = await oneCode(t, admin);
    expect((await redeem(t, other, used.code)).statusCode).toBe(200);
    const disabled = await oneCode(t, admin);
    await call(t.app, 'POST', `/api/admin/redeem-codes/${disabled.id}/disable`, { token: admin });
    const expiring = await oneCode(t, admin, { expiresAt: new Date(t.clock.now() + DAY).toISOString() });

    const before = await snapshot(t);
    const cases: [name: string, code: string, status: number, message: string][] = [
      ['unknown', 'TG-0000-0000-0000-0000', 400, MESSAGES.invalid],
      ['garbage', 'hello world', 400, MESSAGES.invalid],
      ['used', used.code, 409, MESSAGES.used],
      ['disabled', disabled.code, 400, MESSAGES.disabled],
    ];
    for (const [name, code, status, message] of cases) {
      const res = await redeem(t, user, code);
      expect(res.statusCode, name).toBe(status);
      expect(res.json()).toMatchObject({ success: false, statusCode: status, message, path: '/api/credits/redeem' });
    }

    t.clock.advance(DAY);
    const expired = await redeem(t, user, expiring.code);
    expect(expired.statusCode).toBe(400);
    expect(expired.json().message).toBe(MESSAGES.expired);
    expect(await snapshot(t)).toEqual(before);
    expect(await balanceOf(user.accessToken)).toBe(1000);

    const english = await call(t.app, 'POST', '/api/credits/redeem', {
      token: user.accessToken,
      body: { code: used.code },
      ip: freshIp(),
      lang: 'en',
    });
    expect(english.json().message).toBe('This redeem code has been used up');
  });

  it('accepts a code until its expiry instant', async () => {
    const user = await registerUser(t);
    const code = await oneCode(t, admin, { credits: 30, expiresAt: new Date(t.clock.now() + DAY).toISOString() });
    t.clock.advance(DAY - 1);
    expect((await redeem(t, user, code.code)).statusCode).toBe(200);
  });

  it.each([
    ['an empty code', { code: '' }],
    ['no code', {}],
    ['a code that is not text', { code: 12345 }],
    ['a code over 64 characters', { code: 'T'.repeat(65) }],
    ['an unknown field', { code: 'TG-0000-0000-0000-0000', credits: 1_000_000 }],
  ])('refuses a body with %s as a 400 and writes nothing', async (_name, body) => {
    const user = await registerUser(t);
    const before = await snapshot(t);
    const res = await call(t.app, 'POST', '/api/credits/redeem', { token: user.accessToken, body, ip: freshIp() });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ success: false, statusCode: 400, code: 'VALIDATION_FAILED' });
    expect(await snapshot(t)).toEqual(before);
  });

  it('answers 401 without a token and writes nothing', async () => {
    const code = await oneCode(t, admin);
    const before = await snapshot(t);
    const res = await call(t.app, 'POST', '/api/credits/redeem', { body: { code: code.code } });
    expect(res.statusCode).toBe(401);
    expect(await snapshot(t)).toEqual(before);
  });

  it('serves a code with maxUses 3 to three different users, never the same user twice', async () => {
    const [a, b, c, d] = await registerUsers(t, 4);
    const code = await oneCode(t, admin, { credits: 40, maxUses: 3 });
    expect((await redeem(t, a!, code.code)).statusCode).toBe(200);
    const again = await redeem(t, a!, code.code);
    expect(again.statusCode).toBe(409);
    expect(again.json().message).toBe(MESSAGES.again);
    expect((await redeem(t, b!, code.code)).statusCode).toBe(200);
    expect((await redeem(t, c!, code.code)).json()).toMatchObject({ creditsAdded: 40, totalCredits: 1040 });
    const fourth = await redeem(t, d!, code.code);
    expect(fourth.statusCode).toBe(409);
    expect(fourth.json().message).toBe(MESSAGES.used);
    // The first user trying the used-up code again is told it was theirs.
    expect((await redeem(t, a!, code.code)).json().message).toBe(MESSAGES.again);

    expect(await codeRow(t, code.id)).toMatchObject({ used_count: 3 });
    for (const [user, count] of [
      [a, 1],
      [b, 1],
      [c, 1],
      [d, 0],
    ] as const) {
      expect(await redeemLedger(t, user!.id)).toHaveLength(count);
      expect(await balanceOf(user!.accessToken)).toBe(1000 + 40 * count);
    }
  });

  it('tells a user who redeems their single-use code again that it was theirs, and grants nothing', async () => {
    const user = await registerUser(t);
    const code = await oneCode(t, admin);
    expect((await redeem(t, user, code.code)).statusCode).toBe(200);
    const before = await snapshot(t);
    const again = await redeem(t, user, code.code.toLowerCase());
    expect(again.statusCode).toBe(409);
    expect(again.json().message).toBe(MESSAGES.again);
    expect(await snapshot(t)).toEqual(before);
  });

  it('gives one single-use code raced by 50 users exactly one success and one ledger row', async () => {
    const users = await registerUsers(t, 50);
    const code = await oneCode(t, admin, { credits: 500 });
    const answers = await Promise.all(users.map((user) => redeem(t, user, code.code)));
    const winners = answers.flatMap((a, i) => (a.statusCode === 200 ? [users[i]!] : []));
    expect(winners).toHaveLength(1);
    const losers = answers.filter((a) => a.statusCode !== 200);
    expect(losers.map((a) => a.statusCode)).toEqual(Array<number>(49).fill(409));
    for (const loser of losers) expect(loser.json().message).toBe(MESSAGES.used);

    const db = t.app.services.database.db;
    const rows = await db
      .selectFrom('credit_ledger')
      .select(['user_id', 'amount'])
      .where('kind', '=', 'redeem')
      .where('reference', '=', code.id)
      .execute();
    expect(rows).toEqual([{ user_id: winners[0]!.id, amount: 500 }]);
    expect(await db.selectFrom('redemptions').select('user_id').where('code_id', '=', code.id).execute()).toEqual([
      { user_id: winners[0]!.id },
    ]);
    expect(await codeRow(t, code.id)).toMatchObject({ used_count: 1 });
    expect(await balanceOf(winners[0]!.accessToken)).toBe(1500);
  });

  it('gives one user racing a multi-use code 10 times exactly one grant', async () => {
    const user = await registerUser(t);
    const code = await oneCode(t, admin, { credits: 70, maxUses: 5 });
    const answers = await Promise.all(Array.from({ length: 10 }, () => redeem(t, user, code.code)));
    expect(answers.filter((a) => a.statusCode === 200)).toHaveLength(1);
    for (const refused of answers.filter((a) => a.statusCode !== 200)) {
      expect(refused.statusCode).toBe(409);
      expect(refused.json().message).toBe(MESSAGES.again);
    }
    expect(await codeRow(t, code.id)).toMatchObject({ used_count: 1 });
    expect(await redeemLedger(t, user.id)).toHaveLength(1);
    expect(await balanceOf(user.accessToken)).toBe(1070);
  });
});

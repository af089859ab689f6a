import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { CreditsService } from '#modules/credits/credits.service.ts';
import { backends, createTestApp, freshEmail, STRONG_PASSWORD, type TestApp } from '#test/helpers/test-app.ts';

const key = () => `test:sweep:${randomUUID()}`;
const usage = { reason: 'chat completion' };
const insufficient = { code: 'INSUFFICIENT_CREDITS' };
const topUp = () => ({ kind: 'recharge' as const, reason: 'Top-up', idempotencyKey: key() });

/** Money rule 3: a hold is always closed; one left behind by a crash or a stuck call is freed past its deadline. */
describe.each(backends())('expired credit holds on $label', (backend) => {
  let t: TestApp;
  let credits: CreditsService;
  const users: string[] = [];
  beforeAll(async () => {
    t = await createTestApp(backend, { env: { HOLD_SWEEP_INTERVAL: '86400' } }); // only this suite's sweeps run
    credits = t.app.services.credits;
  });
  afterAll(() => t.close());

  const hold = (id: string) =>
    t.app.services.database.db.selectFrom('credit_holds').selectAll().where('id', '=', id).executeTakeFirstOrThrow();

  async function userWith(balance: number): Promise<string> {
    const user = await t.app.services.users.create(
      { email: freshEmail('sweep'), username: 'sweep', password: STRONG_PASSWORD },
      (trx, row) => credits.openAccount(trx, row.id, 0),
    );
    users.push(user.id);
    await credits.grant(user.id, balance, topUp());
    return user.id;
  }

  afterEach(async () => {
    for (const userId of users.splice(0)) {
      const account = await credits.account(userId);
      const open = await t.app.services.database.db
        .selectFrom('credit_holds')
        .selectAll()
        .where('user_id', '=', userId)
        .where('status', '=', 'open')
        .execute();
      expect(account.balance).toBe(await credits.ledgerSum(userId));
      expect(account.held).toBe(open.reduce((sum, h) => sum + Number(h.amount), 0));
    }
  });

  it('releases holds past their deadline and leaves fresh ones', async () => {
    const userId = await userWith(100);
    const ttl = t.config.CREDIT_HOLD_TTL * 1000;
    t.clock.advance(ttl); // close what earlier tests left open, so the counts below are this test's
    await credits.sweepExpiredHolds();
    const stale = await credits.reserve(userId, 30, { idempotencyKey: key() });
    t.clock.advance(ttl / 2);
    const fresh = await credits.reserve(userId, 20, { idempotencyKey: key() });
    t.clock.advance(ttl / 2 - 1);
    expect(await credits.sweepExpiredHolds()).toBe(0);
    t.clock.advance(1);
    expect(await credits.sweepExpiredHolds()).toBe(1);
    expect(await hold(stale.id)).toMatchObject({ status: 'expired', charged: null });
    expect(await hold(fresh.id)).toMatchObject({ status: 'open' });
    expect(await credits.account(userId)).toEqual({ balance: 100, held: 20, available: 80 });
    expect(await credits.release(stale.id)).toBe(false);

    t.clock.advance(ttl);
    expect(await credits.sweepExpiredHolds()).toBe(1);
    expect(await credits.openHolds(userId)).toBe(0);
    expect(await credits.account(userId)).toEqual({ balance: 100, held: 0, available: 100 });
  });

  it('a hold kept alive (its call still running here) is renewed past its TTL and never swept; let go, it expires', async () => {
    const userId = await userWith(100);
    const ttl = t.config.CREDIT_HOLD_TTL * 1000;
    t.clock.advance(ttl);
    await credits.sweepExpiredHolds();
    const long = await credits.reserve(userId, 40, { idempotencyKey: key() });
    const crashed = await credits.reserve(userId, 30, { idempotencyKey: key() }); // its call died: nobody keeps it
    credits.keepAlive(long.id);
    for (let i = 0; i < 6; i++) {
      t.clock.advance(ttl / 3);
      expect(await credits.renewKeptHolds()).toBe(1);
      await credits.sweepExpiredHolds();
    }
    expect(await hold(long.id)).toMatchObject({ status: 'open', expires_at: t.clock.now() + ttl });
    expect(await hold(crashed.id)).toMatchObject({ status: 'expired' });
    expect(await credits.account(userId)).toEqual({ balance: 100, held: 40, available: 60 });
    credits.letGo(long.id);
    expect(await credits.renewKeptHolds()).toBe(0);
    t.clock.advance(ttl);
    expect(await credits.sweepExpiredHolds()).toBe(1);
    expect(await hold(long.id)).toMatchObject({ status: 'expired' });
  });

  it('a sweep that read a hold as expired does not expire it once a renewal moved its deadline', async () => {
    const userId = await userWith(100);
    const ttl = t.config.CREDIT_HOLD_TTL * 1000;
    t.clock.advance(ttl);
    await credits.sweepExpiredHolds();
    const held = await credits.reserve(userId, 10, { idempotencyKey: key() });
    t.clock.advance(ttl);
    // The sweep reads the ids first; the renewal lands before it writes.
    const repo = (credits as unknown as { repo: { expiredHoldIds: (now: number, limit: number) => Promise<string[]> } })
      .repo;
    const read = repo.expiredHoldIds.bind(repo);
    repo.expiredHoldIds = async (now, limit) => {
      const ids = await read(now, limit);
      credits.keepAlive(held.id);
      await credits.renewKeptHolds();
      return ids;
    };
    try {
      expect(await credits.sweepExpiredHolds()).toBe(0);
    } finally {
      repo.expiredHoldIds = read;
      credits.letGo(held.id);
    }
    expect(await hold(held.id)).toMatchObject({ status: 'open' });
    expect(await credits.release(held.id)).toBe(true);
  });

  it('still bills, once, a call that outlived its hold; a released hold is never billed', async () => {
    const userId = await userWith(100);
    const ttl = t.config.CREDIT_HOLD_TTL * 1000;
    t.clock.advance(ttl);
    await credits.sweepExpiredHolds();
    const slow = await credits.reserve(userId, 60, { idempotencyKey: key() });
    t.clock.advance(ttl);
    expect(await credits.sweepExpiredHolds()).toBe(1);
    const next = await credits.reserve(userId, 100, { idempotencyKey: key() }); // the expired hold's credits are free again

    expect(await credits.settle(slow.id, 45, usage)).toEqual({ applied: true, charged: 45 });
    expect(await credits.settle(slow.id, 45, usage)).toEqual({ applied: false, charged: 45 });
    expect(await hold(slow.id)).toMatchObject({ status: 'settled', charged: 45 });
    expect(await credits.account(userId)).toEqual({ balance: 55, held: 100, available: -45 });
    await credits.settle(next.id, 100, usage); // no longer covered: into debt, and nothing new starts
    expect(await credits.account(userId)).toEqual({ balance: -45, held: 0, available: -45 });
    await expect(credits.reserve(userId, 1, { idempotencyKey: key() })).rejects.toMatchObject(insufficient);

    await credits.grant(userId, 100, topUp());
    const cancelled = await credits.reserve(userId, 10, { idempotencyKey: key() });
    await credits.release(cancelled.id);
    expect(await credits.settle(cancelled.id, 10, usage)).toEqual({ applied: false, charged: 0 });
    expect(await credits.account(userId)).toEqual({ balance: 55, held: 0, available: 55 });
  });

  it('sweeps in batches until every expired hold is closed', async () => {
    const userId = await userWith(100);
    t.clock.advance(t.config.CREDIT_HOLD_TTL * 1000);
    await credits.sweepExpiredHolds();
    for (let i = 0; i < 7; i++) await credits.reserve(userId, 10, { idempotencyKey: key(), ttlMs: 1000 });
    t.clock.advance(1000);
    expect(await credits.sweepExpiredHolds(3)).toBe(7);
    expect(await credits.account(userId)).toEqual({ balance: 100, held: 0, available: 100 });
  });
});

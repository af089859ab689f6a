import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GroupCommit, type Asked, type BatchKind } from '#core/db/group-commit.ts';
import { MoneyWriter } from '#modules/metering/money-writes.ts';
import { AppError } from '#core/errors.ts';
import type { Hold } from '#modules/credits/credits.service.ts';
import { BillingSession } from '#modules/metering/bill.ts';
import type { CallContext } from '#modules/metering/call.ts';
import type { Usage } from '#modules/pricing/price.ts';
import { backends, createTestApp, registerUser, type TestApp } from '#test/helpers/test-app.ts';

describe.each(backends())('group commit on $label', (backend) => {
  let t: TestApp;
  let group: GroupCommit;
  beforeAll(async () => {
    t = await createTestApp(backend, { env: { SIGNUP_BONUS: '100' } });
    group = new GroupCommit(t.app.services.database.db);
  });
  afterAll(() => t.close());

  it('runs units that arrive together in one batch, each with its own answer, and undoes only the refused ones', async () => {
    const user = await registerUser(t);
    const { credits } = t.app.services;
    // 30 holds of 7 race a balance of 100: exactly 14 fit; the other 16 are refused and leave no hold row.
    const results = await Promise.allSettled(
      Array.from({ length: 30 }, (_, i) =>
        group.run((trx) => credits.reserveIn(trx, user.id, 7, { idempotencyKey: `gc:${user.id}:${i}` })),
      ),
    );
    const held = results.filter((r) => r.status === 'fulfilled');
    const refused = results.filter((r) => r.status === 'rejected');
    expect(held).toHaveLength(14);
    expect(refused.every((r) => r.reason instanceof AppError && r.reason.code === 'INSUFFICIENT_CREDITS')).toBe(true);
    expect(await credits.account(user.id)).toEqual({ balance: 100, held: 98, available: 2 });
    expect(await credits.openHolds(user.id)).toBe(14);

    // Settle them together: each charges its own amount once; the ledger and the balance agree.
    const holds = held.map((r) => (r as PromiseFulfilledResult<{ id: string }>).value);
    await Promise.all(
      holds.map((hold, i) =>
        group.run((trx) => credits.settleIn(trx, hold.id, i % 2 === 0 ? 7 : 3, { reason: 'batch' })),
      ),
    );
    const charged = holds.reduce((sum, _, i) => sum + (i % 2 === 0 ? 7 : 3), 0);
    expect(await credits.account(user.id)).toEqual({ balance: 100 - charged, held: 0, available: 100 - charged });
    expect(await credits.ledgerSum(user.id)).toBe(100 - charged);
    expect(await credits.openHolds(user.id)).toBe(0);
  });

  it('a unit that throws something else fails alone; the batch commits the rest', async () => {
    const user = await registerUser(t);
    const { credits } = t.app.services;
    const results = await Promise.allSettled([
      group.run((trx) => credits.reserveIn(trx, user.id, 10, { idempotencyKey: `gc2:${user.id}:a` })),
      group.run(async (trx) => {
        await credits.reserveIn(trx, user.id, 10, { idempotencyKey: `gc2:${user.id}:b` });
        throw new Error('changed my mind');
      }),
      group.run((trx) => credits.reserveIn(trx, user.id, 10, { idempotencyKey: `gc2:${user.id}:c` })),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(await credits.account(user.id)).toEqual({ balance: 100, held: 20, available: 80 });
    expect(await credits.openHolds(user.id)).toBe(2);
  });
});

/** A kind that writes nothing and notes the size of every batch it was given. */
function recordingKind(sizes: number[]): BatchKind<Asked<number, number>> {
  return {
    runMany: (_trx, items) => {
      sizes.push(items.length);
      return Promise.resolve(items.map((value) => ({ ok: true as const, value })));
    },
  };
}

describe.each(backends())('batched billing through group commit on $label', (backend) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(backend, { env: { SIGNUP_BONUS: '0' } });
  });
  afterAll(() => t.close());

  const price = { input: 0, output: 1000, perRequest: 1, perImage: 0 }; // 1 credit per call + 1 per output token
  const context = (userId: string, i: number): CallContext => ({
    requestId: `req-${i}`,
    userId,
    keyId: null,
    role: 'user',
    endpoint: 'chat.completions',
    model: 'gpt-4o-mini',
    stream: false,
    startedAt: performance.now(),
  });
  /** A call's billing session, holding what `worstCase` would cost. */
  const open = (deps: ReturnType<typeof ownGroup>, userId: string, i: number, worstCase: Usage) => {
    const call = context(userId, i);
    return BillingSession.open(deps, call, price, BillingSession.cost(deps, call, price, worstCase), false, 'capped');
  };
  /** The gateway's billing with a group commit of the test's own, for its holds too. */
  function ownGroup() {
    const group = new GroupCommit(t.app.services.database.db);
    const { credits, keys, usage } = t.app.services;
    const dialect = t.app.services.database.capabilities;
    return {
      ...t.app.services.gateway,
      money: new MoneyWriter({ group, opening: group, dialect, credits, keys, usage }),
      group,
    };
  }
  async function fundedUser(balance: number): Promise<string> {
    const user = await registerUser(t);
    await t.app.services.credits.grant(user.id, balance, {
      kind: 'recharge',
      reason: 'Top-up',
      idempotencyKey: `top-up:${user.id}`,
    });
    return user.id;
  }
  async function expectBooksBalance(userId: string, calls: number): Promise<void> {
    const { credits, usage } = t.app.services;
    const account = await credits.account(userId);
    expect(account.held).toBe(0);
    expect(account.balance).toBe(await credits.ledgerSum(userId));
    expect(await credits.openHolds(userId)).toBe(0);
    expect(await usage.calls(userId)).toBe(calls);
  }

  it('concurrent calls of one account share batches and keep balance = ledger, each charged exactly once', async () => {
    const userId = await fundedUser(100_000);
    const deps = ownGroup();
    const sizes: number[] = [];
    const marker = recordingKind(sizes);
    const outputs = Array.from({ length: 40 }, (_, i) => 1 + (i % 9));
    // All 40 holds are asked for in one turn: one batch (the marker proves it), one update of the account.
    const sessions = await Promise.all([
      ...outputs.map((_, i) => open(deps, userId, i, { inputTokens: 10, outputTokens: 10 })),
      deps.group.runBatched(marker, 0),
    ]);
    expect(sizes).toEqual([1]);
    const opened = sessions.slice(0, -1) as BillingSession[];
    expect((await t.app.services.credits.account(userId)).held).toBe(40 * 11);
    const charged = await Promise.all(
      opened.map((s, i) =>
        s.settle({ inputTokens: 10, outputTokens: outputs[i]! }, 'upstream', {
          channelId: null,
          httpStatus: 200,
          endReason: 'stop',
        }),
      ),
    );
    expect(charged).toEqual(outputs.map((o) => 1 + o));
    const total = charged.reduce((a, b) => a + b, 0);
    expect((await t.app.services.credits.account(userId)).balance).toBe(100_000 - total);
    await expectBooksBalance(userId, 40);
    const records = await t.app.services.usage.logs({ userId }, 1, 100);
    expect(records.rows.map((r) => Number(r.credits)).sort((a, b) => a - b)).toEqual(
      [...charged].sort((a, b) => a - b),
    );
  });

  it('a unit that breaks its batch does not lose or double the money of the others: they run again, once each', async () => {
    const userId = await fundedUser(1000);
    const deps = ownGroup();
    const opened = await Promise.all(
      Array.from({ length: 6 }, (_, i) => open(deps, userId, i, { inputTokens: 1, outputTokens: 20 })),
    );
    const outcome = { channelId: null, httpStatus: 200, endReason: 'stop' };
    // In the same batch as the six settles: a unit that writes, then fails with something that is not a
    // refusal. The whole batch rolls back and every unit runs again in a transaction of its own.
    const results = await Promise.allSettled([
      ...opened.map((s) => s.settle({ inputTokens: 1, outputTokens: 4 }, 'upstream', outcome)),
      deps.group.run(
        async (trx) => {
          await t.app.services.credits.grant(
            userId,
            7,
            { kind: 'recharge', reason: 'doomed', idempotencyKey: `doomed:${userId}` },
            trx,
          );
          throw new Error('disk on fire');
        },
        { savepoint: false },
      ),
    ]);
    expect(results.map((r) => r.status)).toEqual([...Array<string>(6).fill('fulfilled'), 'rejected']);
    expect((await t.app.services.credits.account(userId)).balance).toBe(1000 - 6 * 5);
    await expectBooksBalance(userId, 6);
    expect((await t.app.services.credits.history(userId, 1, 100)).rows.filter((r) => r.kind === 'usage')).toHaveLength(
      6,
    );
  });

  it('a settle whose commit went through but whose answer was lost is tried again: answered with its charge, billed once', async () => {
    const userId = await fundedUser(1000);
    const deps = ownGroup();
    const session = await open(deps, userId, 0, { inputTokens: 1, outputTokens: 20 });
    // The first write commits, then its connection breaks before the answer arrives (as a reset
    // during COMMIT, or PostgreSQL committing a statement whose client went away, does).
    const runBatched = deps.group.runBatched.bind(deps.group);
    let attempts = 0;
    deps.group.runBatched = async (kind, item) => {
      attempts += 1;
      const answer = await runBatched(kind, item);
      if (attempts === 1) throw new Error('Connection terminated unexpectedly');
      return answer;
    };
    const charged = await session.settle({ inputTokens: 1, outputTokens: 4 }, 'upstream', {
      channelId: null,
      httpStatus: 200,
      endReason: 'stop',
    });
    expect(attempts).toBe(2);
    expect(charged).toBe(5);
    expect(await t.app.services.credits.account(userId)).toEqual({ balance: 995, held: 0, available: 995 });
    await expectBooksBalance(userId, 1);
    expect((await t.app.services.credits.history(userId, 1, 100)).rows.filter((r) => r.kind === 'usage')).toHaveLength(
      1,
    );
  });

  it('a statement failure inside a kind runs its items again one by one: only the bad one fails', async () => {
    const userId = await fundedUser(1000);
    const { credits } = t.app.services;
    const group = new GroupCommit(t.app.services.database.db);
    const existing = await credits.reserve(userId, 5, { idempotencyKey: `dup:${userId}` });
    const kind: BatchKind<Asked<string, Hold>> = {
      runMany: async (trx, keys) => {
        const result = await credits.applyBatch(trx, {
          reserves: keys.map((idempotencyKey) => ({ userId, amount: 10, idempotencyKey })),
          settles: [],
          releases: [],
        });
        return result.reserves;
      },
    };
    // One reserve reuses a key: the multi-row insert of the batch hits the unique index and fails.
    const results = await Promise.allSettled(
      [`a:${userId}`, `dup:${userId}`, `b:${userId}`].map((k) => group.runBatched(kind, k)),
    );
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(await credits.account(userId)).toEqual({ balance: 1000, held: 25, available: 975 });
    expect(await credits.openHolds(userId)).toBe(3);
    await credits.release(existing.id);
  });

  it('calls of a poor account racing for holds: never more than there is, whichever way the batch goes', async () => {
    const userId = await fundedUser(100);
    const deps = ownGroup();
    // 30 calls of 11 credits each (1 + 10 output tokens) race 100 credits in one batch: 9 get a hold.
    const results = await Promise.allSettled(
      Array.from({ length: 30 }, (_, i) => open(deps, userId, i, { inputTokens: 1, outputTokens: 10 })),
    );
    const opened = results.filter((r) => r.status === 'fulfilled').map((r) => r.value);
    expect(opened).toHaveLength(9);
    for (const r of results)
      if (r.status === 'rejected') expect(r.reason).toMatchObject({ code: 'INSUFFICIENT_CREDITS' });
    expect(await t.app.services.credits.account(userId)).toEqual({ balance: 100, held: 99, available: 1 });
    await Promise.all(opened.map((s) => s.cancel({ channelId: null, httpStatus: 502, endReason: 'upstream_error' })));
    expect(await t.app.services.credits.account(userId)).toEqual({ balance: 100, held: 0, available: 100 });
    await expectBooksBalance(userId, 9);
  });

  it('a kind that writes a batch in one statement may answer some items and leave the rest to a transaction', async () => {
    const group = new GroupCommit(t.app.services.database.db);
    const seen: string[] = [];
    const kind: BatchKind<Asked<number, string>> = {
      runAtomic: (_db, items) => {
        seen.push(`atomic ${items.join(',')}`);
        if (items.includes(99)) return Promise.reject(new Error('cannot')); // wrote nothing: all go the usual way
        return Promise.resolve(
          items.map((n) => (n % 2 === 0 ? { ok: true as const, value: `atomic ${n}` } : undefined)),
        );
      },
      runMany: (_trx, items) => {
        seen.push(`many ${items.join(',')}`);
        return Promise.resolve(items.map((n) => ({ ok: true as const, value: `many ${n}` })));
      },
    };
    expect(await Promise.all([1, 2, 3, 4].map((n) => group.runBatched(kind, n)))).toEqual([
      'many 1',
      'atomic 2',
      'many 3',
      'atomic 4',
    ]);
    expect(await Promise.all([98, 99].map((n) => group.runBatched(kind, n)))).toEqual(['many 98', 'many 99']);
    expect(seen).toEqual(['atomic 1,2,3,4', 'many 1,3', 'atomic 98,99', 'many 98,99']);
  });

  it('runs one batch at a time: units that arrive meanwhile wait and go together in the next', async () => {
    const group = new GroupCommit(t.app.services.database.db);
    const sizes: number[] = [];
    const kind = recordingKind(sizes);
    const first = group.runBatched(kind, 1);
    await new Promise((resolve) => setImmediate(resolve)); // the first batch is in flight now
    const rest = [2, 3, 4, 5].map((n) => group.runBatched(kind, n));
    expect(await Promise.all([first, ...rest])).toEqual([1, 2, 3, 4, 5]);
    expect(sizes).toEqual([1, 4]);
  });
});

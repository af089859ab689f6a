import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { transact } from '#core/db/transaction.ts';
import type { MoneyBatch, MoneyBatchResult } from '#modules/credits/credits.batch.ts';
import type { CreditsService } from '#modules/credits/credits.service.ts';
import type { UsageRow } from '#modules/usage/usage.tables.ts';
import { backends, createTestApp, freshEmail, STRONG_PASSWORD, type TestApp } from '#test/helpers/test-app.ts';

const key = (tag = 'k') => `test:${tag}:${randomUUID()}`;
const usage = { reason: 'chat completion' };

/**
 * CreditsService.applyBatch: the reserves, settles and releases of many calls in one transaction, with
 * a few statements for all of them. Each request must be answered exactly as its one-by-one method
 * (reserveIn / settleIn / releaseIn) would answer it, and money rules 1-3 must hold after every batch.
 */
describe.each(backends())('batched credit moves on $label', (backend) => {
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
  const batch = (moves: Partial<MoneyBatch>): Promise<MoneyBatchResult> =>
    transact(db(), (trx) => credits.applyBatch(trx, { reserves: [], settles: [], releases: [], ...moves }));
  const reserve = (userId: string, amount: number) => ({ userId, amount, idempotencyKey: key('hold') });

  const usageRecord = (userId: string, requestId: string): UsageRow => ({
    id: randomUUID(),
    request_id: requestId,
    user_id: userId,
    key_id: null,
    channel_id: null,
    endpoint: 'chat.completions',
    model: 'gpt-4o-mini',
    stream: 0,
    input_tokens: 12,
    output_tokens: 34,
    credits: 5,
    latency_ms: 7,
    status: 'ok',
    http_status: 200,
    end_reason: 'stop',
    usage_source: 'upstream',
    error: null,
    created_at: Date.now(),
    overrun: 0,
  });

  async function userWith(balance: number): Promise<string> {
    const user = await t.app.services.users.create(
      { email: freshEmail('batch'), username: 'batch', password: STRONG_PASSWORD },
      (trx, row) => credits.openAccount(trx, row.id, 0),
    );
    users.push(user.id);
    if (balance > 0)
      await credits.grant(user.id, balance, { kind: 'recharge', reason: 'Top-up', idempotencyKey: key('top-up') });
    return user.id;
  }

  // Money rule 1 after every scenario: balance = Σ ledger rows, and each row's balance_after is the
  // running sum in id order; held = Σ open holds.
  afterEach(async () => {
    for (const userId of users.splice(0)) {
      const account = await credits.account(userId);
      const rows = await ledger(userId);
      let running = 0;
      for (const row of rows) {
        running += Number(row.amount);
        expect(Number(row.balance_after)).toBe(running);
      }
      expect(account.balance).toBe(running);
      expect(account.balance).toBe(await credits.ledgerSum(userId));
      const open = (await holds(userId)).filter((h) => h.status === 'open');
      expect(account.held).toBe(open.reduce((sum, h) => sum + Number(h.amount), 0));
    }
  });

  it('holds of one account that fit together are taken by one update; the rest one by one, never more than there is', async () => {
    const userId = await userWith(100);
    const fits = await batch({ reserves: [reserve(userId, 30), reserve(userId, 20)] });
    expect(fits.reserves.map((r) => r.ok)).toEqual([true, true]);
    expect(await credits.account(userId)).toEqual({ balance: 100, held: 50, available: 50 });

    // 8 × 7 = 56 do not fit in 50 together: taken one by one, in order, 7 of them.
    const some = await batch({ reserves: Array.from({ length: 8 }, () => reserve(userId, 7)) });
    expect(some.reserves.map((r) => r.ok)).toEqual([true, true, true, true, true, true, true, false]);
    expect(some.reserves[7]).toMatchObject({ ok: false, error: { code: 'INSUFFICIENT_CREDITS' } });
    expect(await credits.account(userId)).toEqual({ balance: 100, held: 99, available: 1 });
    expect((await holds(userId)).filter((h) => h.status === 'open')).toHaveLength(9);
  });

  it('settles many holds of one account in one batch: each charged once, the ledger rows in order, the rest freed', async () => {
    const userId = await userWith(1000);
    const taken = await batch({ reserves: Array.from({ length: 12 }, (_, i) => reserve(userId, 40 + i)) });
    const ids = taken.reserves.map((r) => (r.ok ? r.value.id : ''));
    const charges = ids.map((_, i) => (i % 3 === 0 ? 0 : 10 + i * 5)); // some zero, some above their hold
    const settled = await batch({
      settles: ids.map((holdId, i) => ({ holdId, charge: charges[i]!, movement: usage })),
    });
    expect(settled.settles).toEqual(charges.map((charged) => ({ ok: true, value: { applied: true, charged } })));
    const total = charges.reduce((a, b) => a + b, 0);
    expect(await credits.account(userId)).toEqual({ balance: 1000 - total, held: 0, available: 1000 - total });
    const rows = await ledger(userId);
    expect(rows).toHaveLength(1 + charges.filter((c) => c > 0).length); // no row for a zero charge
    expect(rows.slice(1).map((r) => r.idempotency_key)).toEqual(
      ids.filter((_, i) => charges[i]! > 0).map((id) => `hold:${id}`),
    );
    for (const [i, id] of ids.entries())
      expect(await hold(id)).toMatchObject({ status: 'settled', charged: charges[i] });
  });

  it('a settle and new holds of one account in one batch: the holds count the credits the settle frees, never more', async () => {
    const userId = await userWith(100);
    const [first] = (await batch({ reserves: [reserve(userId, 90)] })).reserves;
    const held = first!.ok ? first!.value : undefined;
    // The settle charges 30 of its 90 and frees the rest: 70 are available, so 60 + 10 fit, 1 more does not.
    const result = await batch({
      settles: [{ holdId: held!.id, charge: 30, movement: usage }],
      reserves: [reserve(userId, 60), reserve(userId, 10), reserve(userId, 1)],
    });
    expect(result.settles).toEqual([{ ok: true, value: { applied: true, charged: 30 } }]);
    expect(result.reserves.map((r) => r.ok)).toEqual([true, true, false]);
    expect(await credits.account(userId)).toEqual({ balance: 70, held: 70, available: 0 });
    expect((await ledger(userId)).at(-1)).toMatchObject({ amount: -30, balance_after: 70 });
  });

  it('a settle into debt in the same batch refuses every new hold of that account', async () => {
    const userId = await userWith(50);
    const [first] = (await batch({ reserves: [reserve(userId, 50)] })).reserves;
    const result = await batch({
      settles: [{ holdId: first!.ok ? first!.value.id : '', charge: 80, movement: usage }],
      reserves: [reserve(userId, 1)],
    });
    expect(result.settles[0]).toEqual({ ok: true, value: { applied: true, charged: 80 } });
    expect(result.reserves[0]).toMatchObject({ ok: false, error: { code: 'INSUFFICIENT_CREDITS' } });
    expect(await credits.account(userId)).toEqual({ balance: -30, held: 0, available: -30 });
  });

  it('racing settles and releases of one hold in one batch close it once; the losers see what the winner charged', async () => {
    const userId = await userWith(100);
    const [first] = (await batch({ reserves: [reserve(userId, 50)] })).reserves;
    const holdId = first!.ok ? first!.value.id : '';
    const result = await batch({
      settles: [20, 35, 50].map((charge) => ({ holdId, charge, movement: usage })),
      releases: [holdId, holdId],
    });
    expect(result.settles).toEqual([
      { ok: true, value: { applied: true, charged: 20 } },
      { ok: true, value: { applied: false, charged: 20 } },
      { ok: true, value: { applied: false, charged: 20 } },
    ]);
    expect(result.releases).toEqual([false, false]);
    expect(await credits.account(userId)).toEqual({ balance: 80, held: 0, available: 80 });
    expect(await ledger(userId)).toHaveLength(2);
  });

  it('releases in a batch free their holds once; an expired hold is still billed, once; an unknown one is NOT_FOUND', async () => {
    const userId = await userWith(200);
    const taken = await batch({ reserves: [reserve(userId, 10), reserve(userId, 20), reserve(userId, 30)] });
    const [a, b, c] = taken.reserves.map((r) => (r.ok ? r.value.id : ''));
    // The sweeper frees `c` (its deadline passed): its credits are no longer held.
    await db().updateTable('credit_holds').set({ expires_at: 0 }).where('id', '=', c!).execute();
    expect(await credits.sweepExpiredHolds()).toBe(1);
    const unknown = randomUUID();
    const result = await batch({
      releases: [a!, a!],
      settles: [
        { holdId: b!, charge: 5, movement: usage },
        { holdId: c!, charge: 25, movement: usage },
        { holdId: unknown, charge: 1, movement: usage },
      ],
    });
    expect(result.releases).toEqual([true, false]);
    expect(result.settles.slice(0, 2)).toEqual([
      { ok: true, value: { applied: true, charged: 5 } },
      { ok: true, value: { applied: true, charged: 25 } },
    ]);
    expect(result.settles[2]).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });
    expect(await credits.account(userId)).toEqual({ balance: 170, held: 0, available: 170 });
    expect(await hold(a!)).toMatchObject({ status: 'released', charged: null });
    expect(await hold(c!)).toMatchObject({ status: 'settled', charged: 25 });
  });

  it('moves several accounts in one batch, each by its own calls only', async () => {
    const [alice, bob, carol] = [await userWith(100), await userWith(100), await userWith(5)];
    const taken = await batch({
      reserves: [reserve(alice, 40), reserve(bob, 60), reserve(carol, 10), reserve(alice, 10)],
    });
    expect(taken.reserves.map((r) => r.ok)).toEqual([true, true, false, true]);
    const id = (i: number) => (taken.reserves[i]!.ok ? (taken.reserves[i] as { value: { id: string } }).value.id : '');
    await batch({
      settles: [
        { holdId: id(0), charge: 15, movement: usage },
        { holdId: id(1), charge: 60, movement: usage },
        { holdId: id(3), charge: 3, movement: usage },
      ],
      reserves: [reserve(carol, 5)],
    });
    expect(await credits.account(alice)).toEqual({ balance: 82, held: 0, available: 82 });
    expect(await credits.account(bob)).toEqual({ balance: 40, held: 0, available: 40 });
    expect(await credits.account(carol)).toEqual({ balance: 5, held: 5, available: 0 });
  });

  it('holds in one statement outside a transaction (PostgreSQL): an account that cannot cover its batch takes none of it', async () => {
    const [rich, poor, single] = [await userWith(100), await userWith(20), await userWith(5)];
    const requests = [
      reserve(rich, 30),
      reserve(poor, 15),
      reserve(rich, 40),
      reserve(poor, 15),
      reserve(single, 6),
      { ...reserve(rich, 1), amount: -1 },
    ];
    const answers = await credits.reserveAtomic(requests);
    if (backend.dialect !== 'postgres') {
      expect(answers).toBeUndefined(); // only PostgreSQL can; the others take the usual way
      return;
    }
    expect(answers!.map((a) => a?.ok)).toEqual([true, undefined, true, undefined, false, false]);
    expect(answers![4]).toMatchObject({ ok: false, error: { code: 'INSUFFICIENT_CREDITS' } }); // its account's only request: refused
    expect(answers![5]).toMatchObject({ ok: false, error: expect.any(RangeError) });
    expect(await credits.account(rich)).toEqual({ balance: 100, held: 70, available: 30 });
    expect(await credits.account(poor)).toEqual({ balance: 20, held: 0, available: 20 }); // left to be taken one by one
    expect(await credits.account(single)).toEqual({ balance: 5, held: 0, available: 5 });
    expect((await holds(rich)).map((h) => Number(h.amount)).sort()).toEqual([30, 40]);
    expect(await holds(poor)).toHaveLength(0);
  });

  it('settles in one statement (PostgreSQL): ledger rows in order, usage records with their settles, a hold no longer open left alone', async () => {
    const [alice, bob] = [await userWith(1000), await userWith(100)];
    const taken = await batch({
      reserves: [reserve(alice, 50), reserve(alice, 60), reserve(bob, 30), reserve(alice, 70), reserve(alice, 80)],
    });
    const [a1, a2, b1, a3, a4] = taken.reserves.map((r) => (r.ok ? r.value.id : ''));
    // a4's deadline passes and the sweeper frees it: it is no longer open, so the statement must leave it alone.
    await db().updateTable('credit_holds').set({ expires_at: 0 }).where('id', '=', a4!).execute();
    expect(await credits.sweepExpiredHolds()).toBe(1);
    const settles = [
      { holdId: a1!, charge: 20, movement: usage },
      { holdId: b1!, charge: 45, movement: usage }, // beyond its hold: into the balance
      { holdId: a2!, charge: 0, movement: usage }, // free: no ledger row
      { holdId: a3!, charge: 35, movement: { ...usage, reference: 'req-a3' } },
      { holdId: a1!, charge: 99, movement: usage }, // the same hold again in one batch: left to the usual way
      { holdId: a4!, charge: 10, movement: usage },
      { holdId: a1!, charge: -1, movement: usage },
    ].map((settle, i) => ({ ...settle, record: usageRecord(settle.holdId === b1 ? bob : alice, `with-settle-${i}`) }));
    const answers = await transact(db(), (trx) => credits.settleAtomic(settles, trx));
    if (backend.dialect !== 'postgres') {
      expect(answers).toBeUndefined(); // only PostgreSQL can; the others take the usual way
      await batch({ settles: settles.slice(0, 4) }); // so that the books close as on PostgreSQL
      await batch({ settles: [settles[5]!] });
      return;
    }
    const written = await db()
      .selectFrom('usage_records')
      .select('request_id')
      .where('request_id', 'like', 'with-settle-%')
      .orderBy('request_id')
      .execute();
    // Only the calls whose settle the statement applied leave their record: 4 repeats a1 (settled by
    // 0), 5 (a4) was not open, 6 was refused; the usual way writes theirs when it settles them.
    expect(written.map((r) => r.request_id)).toEqual([
      'with-settle-0',
      'with-settle-1',
      'with-settle-2',
      'with-settle-3',
    ]);
    expect(answers).toEqual([
      { ok: true, value: { applied: true, charged: 20 } },
      { ok: true, value: { applied: true, charged: 45 } },
      { ok: true, value: { applied: true, charged: 0 } },
      { ok: true, value: { applied: true, charged: 35 } },
      undefined,
      undefined,
      { ok: false, error: expect.any(RangeError) },
    ]);
    expect(await credits.account(alice)).toEqual({ balance: 945, held: 0, available: 945 });
    expect(await credits.account(bob)).toEqual({ balance: 55, held: 0, available: 55 });
    const rows = (await ledger(alice)).slice(1);
    expect(rows.map((r) => [Number(r.amount), Number(r.balance_after), r.idempotency_key, r.reference])).toEqual([
      [-20, 980, `hold:${a1}`, null],
      [-35, 945, `hold:${a3}`, 'req-a3'],
    ]);
    expect(await hold(a4!)).toMatchObject({ status: 'expired' });
    // The one left alone is settled the usual way afterwards: an expired hold is still billed, once.
    const rest = await batch({ settles: [settles[5]!] });
    expect(rest.settles).toEqual([{ ok: true, value: { applied: true, charged: 10 } }]);
    expect(await credits.account(alice)).toEqual({ balance: 935, held: 0, available: 935 });
  });

  it('the hold and settle statements (PostgreSQL) lock their accounts in id order, so two of them at once never deadlock', async () => {
    const [first, second] = [await userWith(100), await userWith(100)].sort();
    const taken = await batch({ reserves: [reserve(first!, 10), reserve(second!, 10)] });
    const [firstHold, secondHold] = taken.reserves.map((r) => (r.ok ? r.value.id : ''));
    if (backend.dialect !== 'postgres') {
      expect(await credits.reserveAtomic([reserve(first!, 1)])).toBeUndefined(); // only PostgreSQL moves several accounts in one statement
      await batch({
        settles: [
          { holdId: firstHold!, charge: 0, movement: usage },
          { holdId: secondHold!, charge: 0, movement: usage },
        ],
      });
      return;
    }
    // Another transaction holds the first account; each statement names the second account first. If it
    // locked in the order it was given, it would hold the second account while it waits for the first,
    // and the other transaction's lock on the second account would fail.
    const whileFirstIsLocked = <T>(statement: () => Promise<T>): Promise<T> =>
      db()
        .transaction()
        .execute(async (other) => {
          await sql`select 1 from credit_accounts where user_id = ${first} for update`.execute(other);
          const running = statement();
          for (let waited = 0; ; waited += 10) {
            const { rows } = await sql<{
              n: number;
            }>`select count(*)::int as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'`.execute(
              db(),
            );
            if (rows[0]!.n > 0) break;
            if (waited > 10_000) throw new Error('the statement never waited for the locked account');
            await new Promise((resolve) => setTimeout(resolve, 10));
          }
          await expect(
            sql`select 1 from credit_accounts where user_id = ${second} for update nowait`.execute(other),
          ).resolves.toBeDefined();
          return { running }; // wrapped: the transaction commits (and frees the first account) before the statement ends
        })
        .then(({ running }) => running);
    const held = await whileFirstIsLocked(() => credits.reserveAtomic([reserve(second!, 5), reserve(first!, 5)]));
    expect(held!.map((a) => a?.ok)).toEqual([true, true]);
    const settled = await whileFirstIsLocked(() =>
      transact(db(), (trx) =>
        credits.settleAtomic(
          [
            { holdId: secondHold!, charge: 7, movement: usage, record: usageRecord(second!, `locks-${randomUUID()}`) },
            { holdId: firstHold!, charge: 3, movement: usage, record: usageRecord(first!, `locks-${randomUUID()}`) },
          ],
          trx,
        ),
      ),
    );
    expect(settled!.map((a) => a?.ok)).toEqual([true, true]);
    expect(await credits.account(first!)).toEqual({ balance: 97, held: 5, available: 92 });
    expect(await credits.account(second!)).toEqual({ balance: 93, held: 5, available: 88 });
    await batch({
      releases: (await holds(first!))
        .concat(await holds(second!))
        .filter((h) => h.status === 'open')
        .map((h) => h.id),
    });
  });

  it('a usage record written again (a settle tried again after a commit it could not see) stays one record', async () => {
    const userId = await userWith(0);
    const record = usageRecord(userId, `again-${randomUUID()}`);
    await t.app.services.usage.recordMany([record]);
    await t.app.services.usage.recordMany([{ ...record, credits: 99 }, usageRecord(userId, record.request_id)]);
    const rows = await db()
      .selectFrom('usage_records')
      .select(['id', 'credits'])
      .where('request_id', '=', record.request_id)
      .orderBy('id')
      .execute();
    expect(rows).toHaveLength(2); // the repeated id left as it was; the new record written
    expect(rows.find((r) => r.id === record.id)).toEqual({ id: record.id, credits: 5 });
  });

  it('a bad charge or amount is refused alone, writing nothing', async () => {
    const userId = await userWith(100);
    const [first] = (await batch({ reserves: [reserve(userId, 10)] })).reserves;
    const result = await batch({
      settles: [{ holdId: first!.ok ? first!.value.id : '', charge: 1.5, movement: usage }],
      reserves: [reserve(userId, 0), reserve(userId, 5)],
    });
    expect(result.settles[0]).toMatchObject({ ok: false, error: expect.any(RangeError) });
    expect(result.reserves[0]).toMatchObject({ ok: false, error: expect.any(RangeError) });
    expect(result.reserves[1]!.ok).toBe(true);
    expect(await credits.account(userId)).toEqual({ balance: 100, held: 15, available: 85 });
  });
});

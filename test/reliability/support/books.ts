import type { Kysely } from 'kysely';
import type { DB } from '#core/db/schema.ts';
import { checkJobBooks } from './job-books.ts';
import { checkOrderBooks } from './order-books.ts';
import { PRICE } from './pricing.ts';

/**
 * The Dify app the cluster is given (DIFY_API_URL): the model on its usage records, and its prices
 * (DIFY_PRICE_INPUT / _OUTPUT / _PER_CALL). They are the OpenAI model's prices, so a Dify call's bill is
 * checked by the same rule as every metered call (scenarios/metered-calls.ts), and again here by model.
 */
export const DIFY_MODEL = 'dify:dify (from environment)';
export const DIFY_PRICE = { input: PRICE.input, output: PRICE.output, perCall: PRICE.perRequest };

/** What a Dify chat that used `input` and `output` tokens costs at DIFY_PRICE (docs/money.md, rule 4: rounded up). */
export function difyChargeFor(input: number, output: number): number {
  return Math.ceil((DIFY_PRICE.perCall * 1000 + input * DIFY_PRICE.input + output * DIFY_PRICE.output) / 1000);
}

/** What the books looked like when they were checked, for the notes. */
export interface BooksSummary {
  users: number;
  ledgerRows: number;
  holds: number;
  openHolds: number;
  usageRecords: number;
  difyRecords: number;
  overshoots: number;
  negativeBalances: number;
}

function groupSum<T>(rows: T[], key: (row: T) => string, value: (row: T) => number): Map<string, number> {
  const sums = new Map<string, number>();
  for (const row of rows) sums.set(key(row), (sums.get(key(row)) ?? 0) + value(row));
  return sums;
}

/**
 * The money rules, read straight from the tables (docs/money.md rules 1-3 and 7, docs/decisions.md):
 * every balance equals its ledger and is never below zero unless a settle overshot its hold; `held` is
 * exactly what open holds keep aside; every settled hold that charged has exactly one ledger row and
 * no other hold has one; the usage records and the usage ledger agree; each check-in day and each
 * redemption is counted once. Returns one sentence per broken rule (empty when the books are right).
 */
export async function checkBooks(
  db: Kysely<DB>,
  options: { openHoldsAllowed: boolean },
): Promise<{ violations: string[]; summary: BooksSummary }> {
  const [accounts, ledger, holds, usage, checkins, codes, redemptions] = await Promise.all([
    db.selectFrom('credit_accounts').select(['user_id', 'balance', 'held']).execute(),
    db.selectFrom('credit_ledger').select(['id', 'user_id', 'amount', 'kind', 'idempotency_key']).execute(),
    db.selectFrom('credit_holds').select(['id', 'user_id', 'amount', 'status', 'charged']).execute(),
    db
      .selectFrom('usage_records')
      .select(['user_id', 'credits', 'request_id', 'endpoint', 'model', 'status', 'input_tokens', 'output_tokens'])
      .execute(),
    db.selectFrom('checkins').select(['user_id', 'checkin_date', 'credit_earned']).execute(),
    db.selectFrom('redeem_codes').select(['id', 'max_uses', 'used_count']).execute(),
    db.selectFrom('redemptions').select(['code_id', 'user_id', 'credits']).execute(),
  ]);
  const violations: string[] = [];
  const fail = (what: string) => violations.push(what);

  const ledgerByUser = groupSum(
    ledger,
    (r) => r.user_id,
    (r) => Number(r.amount),
  );
  const openHeld = groupSum(
    holds.filter((h) => h.status === 'open'),
    (h) => h.user_id,
    (h) => Number(h.amount),
  );
  const overshot = new Set(
    holds.filter((h) => h.status === 'settled' && Number(h.charged ?? 0) > Number(h.amount)).map((h) => h.user_id),
  );
  let negative = 0;
  for (const account of accounts) {
    const balance = Number(account.balance);
    const inLedger = ledgerByUser.get(account.user_id) ?? 0;
    if (balance !== inLedger) fail(`user ${account.user_id}: balance ${balance} ≠ Σ ledger ${inLedger}`);
    if (Number(account.held) !== (openHeld.get(account.user_id) ?? 0))
      fail(`user ${account.user_id}: held ${account.held} ≠ Σ open holds ${openHeld.get(account.user_id) ?? 0}`);
    if (Number(account.held) < 0) fail(`user ${account.user_id}: held is negative (${account.held})`);
    if (balance < 0) {
      negative += 1;
      if (!overshot.has(account.user_id))
        fail(`user ${account.user_id}: balance ${balance} < 0 without a settle that overshot its hold`);
    }
  }

  const keys = new Set<string>();
  for (const row of ledger) {
    if (keys.has(row.idempotency_key)) fail(`ledger idempotency key ${row.idempotency_key} appears twice`);
    keys.add(row.idempotency_key);
  }

  const holdRows = new Map<string, number[]>();
  for (const row of ledger)
    if (row.idempotency_key.startsWith('hold:'))
      holdRows.set(row.idempotency_key.slice(5), [
        ...(holdRows.get(row.idempotency_key.slice(5)) ?? []),
        Number(row.amount),
      ]);
  for (const hold of holds) {
    const rows = holdRows.get(hold.id) ?? [];
    const charged = Number(hold.charged ?? 0);
    if (hold.status === 'settled' && charged > 0) {
      if (rows.length !== 1 || rows[0] !== -charged)
        fail(`hold ${hold.id} settled for ${charged} has ledger rows [${rows.join(', ')}]`);
    } else if (rows.length > 0) {
      fail(`hold ${hold.id} (${hold.status}, charged ${charged}) has ledger rows [${rows.join(', ')}]`);
    }
    holdRows.delete(hold.id);
  }
  for (const [holdId, rows] of holdRows)
    fail(`ledger rows [${rows.join(', ')}] name hold ${holdId}, which does not exist`);
  const openHolds = holds.filter((h) => h.status === 'open').length;
  if (!options.openHoldsAllowed && openHolds > 0) fail(`${openHolds} hold(s) still open`);

  const usageByUser = groupSum(
    usage,
    (u) => u.user_id,
    (u) => Number(u.credits),
  );
  const usageLedger = groupSum(
    ledger.filter((r) => r.kind === 'usage'),
    (r) => r.user_id,
    (r) => -Number(r.amount),
  );
  for (const userId of new Set([...usageByUser.keys(), ...usageLedger.keys()])) {
    if ((usageByUser.get(userId) ?? 0) !== (usageLedger.get(userId) ?? 0)) {
      fail(
        `user ${userId}: usage records say ${usageByUser.get(userId) ?? 0} credits, the usage ledger ${usageLedger.get(userId) ?? 0}`,
      );
    }
  }

  // Dify calls: billed on the app's model at its prices; a call Dify refused or failed costs nothing.
  let difyRecords = 0;
  for (const u of usage.filter((r) => r.endpoint.startsWith('dify.'))) {
    difyRecords += 1;
    const what = `Dify usage record of ${u.request_id} (${u.endpoint}, ${u.status})`;
    if (u.endpoint === 'dify.chat-messages' && u.model !== DIFY_MODEL)
      fail(`${what}: model ${u.model}, not ${DIFY_MODEL}`);
    if (u.endpoint !== 'dify.chat-messages') continue;
    const expected = u.status === 'error' ? 0 : difyChargeFor(Number(u.input_tokens), Number(u.output_tokens));
    if (Number(u.credits) !== expected)
      fail(`${what}: billed ${u.credits} for ${u.input_tokens}+${u.output_tokens} tokens, not ${expected}`);
  }

  const days = new Set<string>();
  for (const c of checkins) {
    const day = `${c.user_id}@${c.checkin_date}`;
    if (days.has(day)) fail(`check-in ${day} counted twice`);
    days.add(day);
  }
  const checkinCredits = groupSum(
    checkins,
    (c) => c.user_id,
    (c) => Number(c.credit_earned),
  );
  const checkinLedger = groupSum(
    ledger.filter((r) => r.kind === 'checkin'),
    (r) => r.user_id,
    (r) => Number(r.amount),
  );
  for (const userId of new Set([...checkinCredits.keys(), ...checkinLedger.keys()])) {
    if ((checkinCredits.get(userId) ?? 0) !== (checkinLedger.get(userId) ?? 0))
      fail(
        `user ${userId}: check-ins earned ${checkinCredits.get(userId) ?? 0}, ledger says ${checkinLedger.get(userId) ?? 0}`,
      );
  }

  const usesByCode = groupSum(
    redemptions,
    (r) => r.code_id,
    () => 1,
  );
  const pairs = new Set<string>();
  for (const r of redemptions) {
    if (pairs.has(`${r.code_id}/${r.user_id}`)) fail(`code ${r.code_id} redeemed twice by user ${r.user_id}`);
    pairs.add(`${r.code_id}/${r.user_id}`);
  }
  for (const code of codes) {
    const uses = usesByCode.get(code.id) ?? 0;
    if (uses !== Number(code.used_count)) fail(`code ${code.id}: used_count ${code.used_count} ≠ ${uses} redemptions`);
    if (uses > Number(code.max_uses)) fail(`code ${code.id}: ${uses} redemptions > max_uses ${code.max_uses}`);
  }
  const redeemed = groupSum(
    redemptions,
    (r) => r.user_id,
    (r) => Number(r.credits),
  );
  const redeemLedger = groupSum(
    ledger.filter((r) => r.kind === 'redeem'),
    (r) => r.user_id,
    (r) => Number(r.amount),
  );
  for (const userId of new Set([...redeemed.keys(), ...redeemLedger.keys()])) {
    if ((redeemed.get(userId) ?? 0) !== (redeemLedger.get(userId) ?? 0))
      fail(`user ${userId}: redeemed ${redeemed.get(userId) ?? 0}, ledger says ${redeemLedger.get(userId) ?? 0}`);
  }

  // Orders: one grant per fulfilled order, refunds that add up (docs/payments.md).
  for (const broken of await checkOrderBooks(db)) fail(broken);
  // Image jobs: every finished job's hold closed once, for what the job says it charged.
  for (const broken of await checkJobBooks(db)) fail(broken);

  return {
    violations,
    summary: {
      users: accounts.length,
      ledgerRows: ledger.length,
      holds: holds.length,
      openHolds,
      usageRecords: usage.length,
      difyRecords,
      overshoots: holds.filter((h) => h.status === 'settled' && Number(h.charged ?? 0) > Number(h.amount)).length,
      negativeBalances: negative,
    },
  };
}

/** Usage records per request id, for "every answered call left exactly one record". */
export async function usageByRequest(
  db: Kysely<DB>,
  requestIds: string[],
): Promise<
  Map<
    string,
    Array<{
      credits: number;
      overrun: number;
      status: string;
      input_tokens: number;
      output_tokens: number;
      end_reason: string;
      usage_source: string;
    }>
  >
> {
  const found = new Map<
    string,
    Array<{
      credits: number;
      overrun: number;
      status: string;
      input_tokens: number;
      output_tokens: number;
      end_reason: string;
      usage_source: string;
    }>
  >();
  for (let i = 0; i < requestIds.length; i += 500) {
    const rows = await db
      .selectFrom('usage_records')
      .select([
        'request_id',
        'credits',
        'overrun',
        'status',
        'input_tokens',
        'output_tokens',
        'end_reason',
        'usage_source',
      ])
      .where('request_id', 'in', requestIds.slice(i, i + 500))
      .execute();
    for (const row of rows)
      found.set(row.request_id, [
        ...(found.get(row.request_id) ?? []),
        { ...row, credits: Number(row.credits), overrun: Number(row.overrun) },
      ]);
  }
  return found;
}

/** The usage records of one request with what the Dify checks read (end reason, source, model). */
export async function difyUsageRecords(
  db: Kysely<DB>,
  requestId: string,
): Promise<
  Array<{
    credits: number;
    status: string;
    model: string;
    input_tokens: number;
    output_tokens: number;
    end_reason: string;
    usage_source: string;
  }>
> {
  const rows = await db
    .selectFrom('usage_records')
    .select(['credits', 'status', 'model', 'input_tokens', 'output_tokens', 'end_reason', 'usage_source'])
    .where('request_id', '=', requestId)
    .execute();
  return rows.map((row) => ({
    ...row,
    credits: Number(row.credits),
    input_tokens: Number(row.input_tokens),
    output_tokens: Number(row.output_tokens),
  }));
}

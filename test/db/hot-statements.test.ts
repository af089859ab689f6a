/**
 * The hand-written hot statements (every Statement built with a `shape`, see src/core/db/statements.ts)
 * checked for every dialect, without a database:
 * - each built afresh equals its committed snapshot (test/db/hot-statements.<dialect>.sql), so a change
 *   to the SQL of the money path is seen in review and never by accident;
 * - each built after another statement of its shape cached the text equals its fresh build, text and
 *   parameters, and no two inputs give two texts under one shape: a shape that does not name all its
 *   text depends on would otherwise run stale SQL;
 * and, on every database at hand, the money path of metered calls builds only shapes known here, with
 * the snapshot's texts.
 *
 * After a deliberate change to one of these statements, regenerate the snapshots and review their diff:
 *   UPDATE_SQL_SNAPSHOTS=1 npx vitest run test/db/hot-statements.test.ts
 */
import { randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dialectCapabilities, type DialectCapabilities, type DialectName } from '#core/db/dialect.ts';
import { GroupCommit } from '#core/db/group-commit.ts';
import { chainOfWrites, forgetStatementTexts, statementTexts, type Statement } from '#core/db/statements.ts';
import * as credits from '#modules/credits/credits.statements.ts';
import type { HoldRow, LedgerRow } from '#modules/credits/credits.tables.ts';
import { MoneyWriter } from '#modules/metering/money-writes.ts';
import { insertUsage } from '#modules/usage/usage.repository.ts';
import type { UsageRow } from '#modules/usage/usage.tables.ts';
import { createTestApp, registerUser, type TestApp } from '#test/helpers/test-app.ts';
import { availableDialects } from '#test/helpers/databases.ts';

const DIALECTS: DialectName[] = ['sqlite', 'postgres', 'mysql'];
const UPDATE = process.env.UPDATE_SQL_SNAPSHOTS === '1';
const snapshotFile = (dialect: DialectName) => join(import.meta.dirname, `hot-statements.${dialect}.sql`);

// ---- Representative inputs: `seed` changes every value, never the structure. ----

const NOW = 1_764_000_000_000;
const range = (n: number) => Array.from({ length: n }, (_, i) => i);
const ledgerRow = (seed: number, i: number): LedgerRow => ({
  id: `ledger-${seed}-${i}`,
  user_id: `user-${seed}`,
  amount: -(seed + i),
  balance_after: 100 * seed - i,
  kind: 'usage',
  reason: `chat.completions model-${seed}`,
  reference: i % 2 === 0 ? null : `req-${seed}-${i}`,
  idempotency_key: `hold:hold-${seed}-${i}`,
  created_at: NOW + seed,
});
const holdRow = (seed: number, i: number, user = `user-${seed}`): HoldRow => ({
  id: `hold-${seed}-${i}`,
  user_id: user,
  amount: seed + i + 1,
  status: 'open',
  reference: i % 2 === 0 ? null : `req-${seed}-${i}`,
  idempotency_key: `call:${seed}-${i}`,
  created_at: NOW + seed,
  expires_at: NOW + seed + 900_000,
  closed_at: null,
  charged: null,
});
const usageRow = (seed: number, i: number): UsageRow => ({
  id: `usage-${seed}-${i}`,
  request_id: `req-${seed}-${i}`,
  user_id: `user-${seed}`,
  key_id: i % 2 === 0 ? null : `key-${seed}`,
  channel_id: seed % 2 === 0 ? null : `channel-${seed}`,
  endpoint: 'chat.completions',
  model: `model-${seed}`,
  stream: seed % 2,
  input_tokens: 10 * seed + i,
  output_tokens: 20 * seed + i,
  credits: seed + i,
  latency_ms: 30 + seed,
  status: seed % 3 === 0 ? 'error' : 'ok',
  http_status: seed % 3 === 0 ? 502 : 200,
  end_reason: 'stop',
  usage_source: 'upstream',
  error: null,
  created_at: NOW + seed,
  overrun: seed % 2 === 0 ? 0 : seed,
});
const callSettle = (seed: number, i: number): credits.CallSettleRow => ({
  holdId: `hold-${seed}-${i}`,
  charge: seed * i,
  ledgerId: `ledger-${seed}-${i}`,
  kind: 'usage',
  reason: `chat.completions model-${seed}`,
  reference: i % 2 === 0 ? null : `req-${seed}-${i}`,
  record: usageRow(seed, i),
});

/** One way to build a statement: its name in the catalog and the build, for a seed. */
interface Variant {
  name: string;
  build(dialect: DialectCapabilities, seed: number): Statement;
}

/** A statement, with the row counts and options it is built with; `when` the dialect uses it at all. */
interface Entry {
  name: string;
  when?: (dialect: DialectCapabilities) => boolean;
  variants: Array<Variant['build']>;
}

const COUNTS = [1, 3];
const writingCtes = (dialect: DialectCapabilities) => dialect.writingCtes;
const deferredInserts = {
  ledger: (d: DialectCapabilities, seed: number, n: number) =>
    credits.insertLedgerRows(
      d,
      range(n).map((i) => ledgerRow(seed, i)),
    ),
  holds: (d: DialectCapabilities, seed: number, n: number) =>
    credits.insertHolds(
      d,
      range(n).map((i) => holdRow(seed, i)),
    ),
  usage: (d: DialectCapabilities, seed: number, n: number) =>
    insertUsage(
      d,
      range(n).map((i) => usageRow(seed, i)),
    ),
};

const CATALOG: Entry[] = [
  {
    name: 'lockOpenHolds',
    when: (d) => !d.returning,
    variants: COUNTS.map(
      (n) => (d, seed) =>
        credits.lockOpenHolds(
          d,
          range(n).map((i) => `hold-${seed}-${i}`),
        ),
    ),
  },
  {
    name: 'closeOpenHolds',
    variants: COUNTS.flatMap((n) =>
      (['settled', 'released'] as const).flatMap((to) =>
        // Where there is no RETURNING, the holds found open (lockOpenHolds) may be fewer than asked for.
        [n, 1].map((found) => (d: DialectCapabilities, seed: number) => {
          const holds = range(n).map((i) => ({
            id: `hold-${seed}-${i}`,
            charged: to === 'released' ? null : seed + i,
          }));
          return credits.closeOpenHolds(
            d,
            holds,
            to,
            NOW + seed,
            holds.slice(0, d.returning ? n : found).map((h) => h.id),
            !d.returning,
          );
        }),
      ),
    ),
  },
  {
    name: 'moveAccount',
    variants: [5, 0, -3].flatMap((charge) =>
      [10, 0].flatMap((free) =>
        [7, 0, -2].map(
          (hold) => (d: DialectCapabilities, seed: number) =>
            credits.moveAccount(
              d,
              `user-${seed}`,
              charge && charge + seed,
              free && free + seed,
              hold && hold + Math.sign(hold) * seed,
              NOW + seed,
            ),
        ),
      ),
    ),
  },
  { name: 'balanceOf', when: (d) => !d.returning, variants: [(d, seed) => credits.balanceOf(d, `user-${seed}`)] },
  { name: 'insertLedger', variants: COUNTS.map((n) => (d, seed) => deferredInserts.ledger(d, seed, n)) },
  { name: 'insertHolds', variants: COUNTS.map((n) => (d, seed) => deferredInserts.holds(d, seed, n)) },
  { name: 'insertUsage', variants: COUNTS.map((n) => (d, seed) => deferredInserts.usage(d, seed, n)) },
  {
    name: 'closeAndCharge',
    when: writingCtes,
    variants: COUNTS.map(
      (n) => (d, seed) =>
        credits.closeAndCharge(
          d,
          range(n).map((i) => ({ id: `hold-${seed}-${i}`, charged: seed * i })),
          NOW + seed,
        ),
    ),
  },
  {
    name: 'settleCalls',
    when: writingCtes,
    variants: COUNTS.map(
      (n) => (d, seed) =>
        credits.settleCalls(
          d,
          range(n).map((i) => callSettle(seed, i)),
          NOW + seed,
        ),
    ),
  },
  {
    name: 'holdAll',
    when: writingCtes,
    // One account, or two (the holds of several calls of one account are summed into one update).
    variants: COUNTS.flatMap((n) =>
      [1, 2].map(
        (accounts) => (d: DialectCapabilities, seed: number) =>
          credits.holdAll(
            d,
            range(n).map((i) => holdRow(seed, i, `user-${seed}-${i % accounts}`)),
            NOW + seed,
          ),
      ),
    ),
  },
  {
    name: 'with',
    when: writingCtes,
    // The inserts a batch defers, as the batches of the money path gather them: settles (ledger rows and
    // usage records), new holds, both, cancels (usage records only go alone, as the others).
    variants: [
      ['ledger', 'usage'],
      ['ledger', 'holds', 'usage'],
      ['holds', 'usage'],
      ['ledger', 'holds'],
    ].flatMap((parts) =>
      COUNTS.map(
        (n) => (d: DialectCapabilities, seed: number) =>
          chainOfWrites(parts.map((part) => deferredInserts[part as keyof typeof deferredInserts](d, seed, n))),
      ),
    ),
  },
];

interface Built {
  shape: string;
  text: string;
  parameters: unknown[];
}

function built(statement: Statement): Built {
  if (statement.shape === undefined) throw new Error('a hot statement without a shape');
  return { shape: statement.shape, text: statement.toString(), parameters: [...statement.parameters] };
}

/** Every variant of every entry the dialect uses, with two seeds each. */
function variantsOf(dialect: DialectCapabilities): Variant[] {
  return CATALOG.filter((entry) => entry.when?.(dialect) ?? true).flatMap((entry) =>
    entry.variants.map((build) => ({ name: entry.name, build })),
  );
}

/** Shape → text, as the snapshot file reads. */
function parseSnapshot(text: string): Map<string, string> {
  const entries = new Map<string, string>();
  for (const block of text.split('\n\n')) {
    const lines = block.split('\n').filter((line) => line !== '' && !line.startsWith('-- '));
    const shape = /^-- shape: (.+)$/m.exec(block)?.[1];
    if (shape === undefined || lines.length !== 1 || !lines[0]!.endsWith(';')) continue;
    entries.set(shape, lines[0]!.slice(0, -1));
  }
  return entries;
}

function formatSnapshot(dialect: DialectName, texts: ReadonlyMap<string, string>): string {
  const header = [
    `-- The hand-written hot statements on ${dialect}, one per shape, as the code builds them.`,
    '-- Checked by test/db/hot-statements.test.ts; regenerate after a deliberate change with',
    '--   UPDATE_SQL_SNAPSHOTS=1 npx vitest run test/db/hot-statements.test.ts',
  ].join('\n');
  const body = [...texts]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([shape, text]) => `-- shape: ${shape}\n${text};`);
  return [header, ...body].join('\n\n') + '\n';
}

describe.each(DIALECTS)('the hot statements on %s', (name) => {
  const dialect = dialectCapabilities(name);
  const fresh = new Map<Variant, Built[]>();
  beforeAll(() => {
    for (const variant of variantsOf(dialect)) {
      fresh.set(
        variant,
        [1, 2].map((seed) => {
          forgetStatementTexts();
          return built(variant.build(dialect, seed));
        }),
      );
    }
    forgetStatementTexts();
  });

  it('give one text per shape, whatever the values, with one parameter per placeholder', () => {
    const textsOf = new Map<string, Set<string>>();
    for (const [variant, builds] of fresh) {
      for (const b of builds) {
        expect(b.shape.split(':')[0]).toBe(variant.name);
        const texts = textsOf.get(b.shape) ?? new Set<string>();
        textsOf.set(b.shape, texts.add(b.text));
        const placeholders =
          dialect.placeholder(1) === '?' ? b.text.split('?').length - 1 : new Set(b.text.match(/\$\d+/g)).size;
        expect(placeholders, b.shape).toBe(b.parameters.length);
      }
    }
    const clashes = [...textsOf]
      .filter(([, texts]) => texts.size > 1)
      .map(([shape, texts]) => ({ shape, texts: [...texts] }));
    expect(clashes).toEqual([]);
  });

  it('built again from the text cached for their shape, equal their fresh build, text and parameters', () => {
    forgetStatementTexts();
    for (const [variant, builds] of fresh) {
      // The first seed caches the text of the shape; the second is built from it.
      for (const [seed, expected] of builds.entries())
        expect(built(variant.build(dialect, seed + 1)), variant.name).toEqual(expected);
    }
    forgetStatementTexts();
  });

  it('equal the committed snapshot', () => {
    const texts = new Map<string, string>();
    for (const builds of fresh.values()) for (const b of builds) texts.set(b.shape, b.text);
    if (UPDATE) writeFileSync(snapshotFile(name), formatSnapshot(name, texts));
    const committed = parseSnapshot(readFileSync(snapshotFile(name), 'utf8'));
    expect(Object.fromEntries([...texts].sort())).toEqual(Object.fromEntries([...committed].sort()));
  });
});

describe.each(availableDialects())('the money path on %s', (name) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ label: name, dialect: name, kv: 'memory' }, { env: { SIGNUP_BONUS: '0' } });
  });
  afterAll(() => t.close());

  it('builds only the shapes of the catalog, with the texts of the snapshot', async () => {
    const { database, credits: service, keys, usage } = t.app.services;
    const dialect = database.capabilities;
    const user = await registerUser(t);
    await service.grant(user.id, 1000, { kind: 'recharge', reason: 'Top-up', idempotencyKey: `top-up:${user.id}` });
    const group = new GroupCommit(database.db, { relaxedDb: database.relaxed });
    const money = new MoneyWriter({ group, opening: group, dialect, credits: service, keys, usage });
    const record = (): UsageRow => ({
      ...usageRow(1, 0),
      id: randomUUID(),
      request_id: `req-${randomUUID()}`,
      user_id: user.id,
      key_id: null,
      channel_id: null,
    });
    const settle = (hold: Awaited<ReturnType<MoneyWriter['hold']>>, charge: number) => ({
      type: 'settle' as const,
      hold,
      charge,
      capKeyId: null,
      reason: 'r',
      reference: 'q',
      record: record(),
    });

    forgetStatementTexts();
    // A lone call, then three at once (settled, cancelled, settled), and a lone usage record.
    const lone = await money.hold(user.id, 10, 'lone');
    expect(await money.write(settle(lone, 4))).toBe(4);
    const three = await Promise.all([1, 2, 3].map((i) => money.hold(user.id, 10, `call-${i}`)));
    expect(
      await Promise.all([
        money.write(settle(three[0]!, 5)),
        money.write({ type: 'cancel', hold: three[1]!, capKeyId: null, record: record() }),
        money.write(settle(three[2]!, 6)),
      ]),
    ).toEqual([5, 0, 6]);
    await money.write({ type: 'record', record: record() });
    expect(await service.account(user.id)).toEqual({ balance: 985, held: 0, available: 985 });

    const names = new Set(CATALOG.map((entry) => entry.name));
    const committed = parseSnapshot(readFileSync(snapshotFile(name), 'utf8'));
    const seen = [...statementTexts()]
      .filter(([key]) => key.startsWith(`${name}|`))
      .map(([key, text]) => ({ shape: key.slice(name.length + 1), text }));
    expect(seen.length).toBeGreaterThan(0);
    for (const { shape, text } of seen) {
      expect(names, `${shape} is built by the money path but is not in the catalog`).toContain(shape.split(':')[0]);
      if (committed.has(shape)) expect(text, shape).toBe(committed.get(shape));
    }
    // The lone call's statements are the snapshot's own (row counts 1).
    expect(seen.filter(({ shape }) => committed.has(shape)).length).toBeGreaterThan(0);
  });
});

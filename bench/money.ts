/**
 * The money path alone, in one process, without HTTP: `BillingSession.open` then `settle` (a hold,
 * then its charge, ledger row and usage record), CALLS times, CONCURRENCY at a time, as the gateway
 * does them for one account with one uncapped key. Prints the wall and CPU time per call, and checks
 * that the balance equals the ledger and every call left one usage record. Steadier than `npm run
 * bench` on a shared machine, and small enough to run under `valgrind --tool=callgrind`.
 *
 *   npx tsx bench/money.ts                      SQLite, 2000 calls, concurrency 1 and 32
 *   MONEY_DIALECT=postgres TEST_POSTGRES_URL=… npx tsx bench/money.ts
 *   MONEY_CALLS=500 MONEY_CONCURRENCY=8 …
 *
 * Instruction counts, which do not depend on the machine's load: MONEY_CALLGRIND=1 with
 *   valgrind --tool=callgrind --instr-atstart=no node --import tsx bench/money.ts
 * switches instrumentation on for each measured run only and dumps its counts ("c=<n>") at its end.
 */
import { execFile } from 'node:child_process';
import { setImmediate as turn } from 'node:timers/promises';
import { promisify } from 'node:util';
import SQLite from 'better-sqlite3';
import { sql } from 'kysely';
import mysql from 'mysql2';
import pg from 'pg';
import type { DialectName } from '#core/db/create-db.ts';
import { BillingSession } from '#modules/metering/bill.ts';
import type { CallContext } from '#modules/metering/call.ts';
import { createTestApp, registerUser } from '#test/helpers/test-app.ts';

const CALLS = Number(process.env.MONEY_CALLS ?? 2000);
const WARMUP = Number(process.env.MONEY_WARMUP ?? 1000);
const CONCURRENCY = (process.env.MONEY_CONCURRENCY ?? '1,32').split(',').map(Number);
const dialect = (process.env.MONEY_DIALECT ?? 'sqlite') as DialectName;
const price = { input: 0.15, output: 0.6, perRequest: 1, perImage: 0 };

/** Statements sent to the database (on PostgreSQL and MySQL, each is a round trip), counted at the drivers. */
let statements = 0;
function countCalls<T extends object>(proto: T, names: Array<keyof T>): void {
  for (const name of names) {
    const original = proto[name] as (...args: unknown[]) => unknown;
    (proto as Record<keyof T, unknown>)[name] = function (this: unknown, ...args: unknown[]) {
      statements += 1;
      return original.apply(this, args);
    };
  }
}
countCalls(pg.Client.prototype, ['query']);
countCalls(
  (mysql as unknown as { Connection: { prototype: object } }).Connection.prototype as {
    query: unknown;
    execute: unknown;
  },
  ['query', 'execute'],
);
countCalls(
  Object.getPrototypeOf(new SQLite(':memory:').prepare('select 1')) as { run: unknown; all: unknown; get: unknown },
  ['run', 'all', 'get'],
);

const t = await createTestApp({ label: dialect, dialect, kv: 'memory' }, { env: { SIGNUP_BONUS: '0' } });
try {
  const user = await registerUser(t);
  const { gateway, credits, usage } = t.app.services;
  await credits.grant(user.id, 1_000_000_000, {
    kind: 'admin_adjust',
    reason: 'bench',
    idempotencyKey: `bench:${user.id}`,
  });

  const oneCall = async (i: number): Promise<void> => {
    const context: CallContext = {
      requestId: `req-${i}`,
      userId: user.id,
      keyId: null,
      role: 'user',
      endpoint: 'chat.completions',
      model: 'gpt-4o-mini',
      stream: false,
      startedAt: performance.now(),
    };
    const held = BillingSession.cost(gateway, context, price, { inputTokens: 20, outputTokens: 4096 });
    const session = await BillingSession.open(gateway, context, price, held, false, 'capped');
    await turn(); // the upstream call
    await session.settle({ inputTokens: 12, outputTokens: 30 + (i % 7) }, 'upstream', {
      channelId: null,
      httpStatus: 200,
      endReason: 'stop',
    });
  };

  const run = async (concurrency: number, calls: number): Promise<{ wallUs: number; cpuUs: number }> => {
    let next = 0;
    const cpu = process.cpuUsage();
    const started = performance.now();
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < calls) await oneCall(next++);
      }),
    );
    const used = process.cpuUsage(cpu);
    return { wallUs: ((performance.now() - started) * 1000) / calls, cpuUs: (used.user + used.system) / calls };
  };

  if (process.env.MONEY_PRAGMA) await sql.raw(`pragma ${process.env.MONEY_PRAGMA}`).execute(t.app.services.database.db);
  const callgrind = (...args: string[]) =>
    process.env.MONEY_CALLGRIND ? promisify(execFile)('callgrind_control', [...args, String(process.pid)]) : undefined;
  for (const concurrency of CONCURRENCY) {
    await run(concurrency, WARMUP); // so that the JIT has done its work before the count starts
    const before = await usage.calls(user.id);
    const statementsBefore = statements;
    await callgrind('--zero');
    await callgrind('--instr=on');
    const { wallUs, cpuUs } = await run(concurrency, CALLS);
    await callgrind(`--dump=c=${concurrency}`);
    await callgrind('--instr=off');
    const perCall = (statements - statementsBefore) / CALLS;
    const recorded = (await usage.calls(user.id)) - before;
    const account = await credits.account(user.id);
    const ledger = await credits.ledgerSum(user.id);
    const fine = recorded === CALLS && account.balance === ledger && account.held === 0;
    console.log(
      `${dialect} c=${concurrency}: ${wallUs.toFixed(0)} µs/call wall, ${cpuUs.toFixed(0)} µs/call CPU, ${Math.round(1e6 / wallUs)} calls/s, ${perCall.toFixed(2)} statements/call` +
        `${fine ? '' : `  ← MISMATCH (records ${recorded}/${CALLS}, balance ${account.balance}, ledger ${ledger}, held ${account.held})`}`,
    );
    if (!fine) process.exitCode = 1;
  }
} finally {
  await t.close();
}

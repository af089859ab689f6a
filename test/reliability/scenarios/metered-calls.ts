import type { Kysely } from 'kysely';
import type { DB } from '#core/db/schema.ts';
import type { MeteredCall } from '#test/reliability/load/load-log.ts';
import { usageByRequest } from '#test/reliability/support/books.ts';
import { chargeFor } from '#test/reliability/support/pricing.ts';
import type { Tally } from '#test/reliability/tally.ts';

/**
 * Every metered call against its usage records: an answered 200 left exactly one record, billed at the
 * price of the usage it records (exactly the usage the fake reported, when the suite set it); a call
 * refused before the upstream (401, 402, 429, …) left none. A call whose answer was lost (a crash, an
 * outage) or that overlapped an outage may have left one record at most, never two.
 */
export async function verifyMeteredCalls(
  db: Kysely<DB>,
  tally: Tally,
  calls: MeteredCall[],
  lenient: (call: MeteredCall) => boolean = () => false,
): Promise<void> {
  const records = await usageByRequest(
    db,
    calls.map((c) => c.requestId),
  );
  for (const call of calls) {
    const rows = records.get(call.requestId) ?? [];
    const what = `${call.operation} ${call.requestId} (instance ${call.instance}, ${call.status ?? call.answer})`;
    if (rows.length > 1) {
      tally.violation(`${what}: ${rows.length} usage records`);
      continue;
    }
    const row = rows[0];
    // What the usage costs is charged (docs/money.md, rule 6): in full for Dify, whose overrun only says
    // how far past its hold it went; for /v1 but for what the caller could not pay, its overrun.
    const unpaid = call.operation.startsWith('dify') ? 0 : (row?.overrun ?? 0);
    if (row)
      tally.check(
        row.overrun >= 0 && row.credits + unpaid === chargeFor(row.input_tokens, row.output_tokens),
        `${what}: billed ${row.credits} (overrun ${row.overrun}) for ${row.input_tokens}+${row.output_tokens} tokens`,
      );
    if (call.answer !== 'answer' || lenient(call)) continue;
    if (call.status === 200) {
      if (!tally.check(row !== undefined, `${what}: answered 200 but left no usage record`) || !row) continue;
      tally.check(row.status === 'ok', `${what}: usage record says ${row.status}`);
      if (call.reported) {
        tally.check(
          row.input_tokens === call.reported.input && row.output_tokens === call.reported.output,
          `${what}: recorded ${row.input_tokens}+${row.output_tokens} tokens, the upstream reported ${call.reported.input}+${call.reported.output}`,
        );
      }
      if (call.estimated)
        tally.check(
          row.usage_source === 'estimated',
          `${what}: usage without upstream usage recorded as ${row.usage_source}`,
        );
    } else {
      tally.check(
        row === undefined,
        `${what}: refused with ${call.status} but left a usage record (${row?.credits} credits)`,
      );
    }
  }
}

/** Waits (bounded) until no hold is open: the calls have settled, or the sweeper freed what a crash left. */
export async function waitForNoOpenHolds(
  db: Kysely<DB>,
  timeoutMs: number,
): Promise<{ open: number; waitedMs: number }> {
  const started = Date.now();
  for (;;) {
    const row = await db
      .selectFrom('credit_holds')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('status', '=', 'open')
      .executeTakeFirstOrThrow();
    const open = Number(row.n);
    if (open === 0 || Date.now() - started > timeoutMs) return { open, waitedMs: Date.now() - started };
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

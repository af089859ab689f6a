import { isClearError, type Answer } from '#test/reliability/support/http.ts';
import type { LoadUser } from '#test/reliability/support/accounts.ts';
import type { Cluster } from '#test/reliability/support/cluster.ts';
import type { TrapServer } from '#test/reliability/support/trap-server.ts';
import type { LoadLog } from './load-log.ts';

export interface RedeemCode {
  id: string;
  code: string;
  maxUses: number;
}

/** What every operation may use: the cluster, the users and codes of the load, and where to record. */
export interface LoadContext {
  cluster: Cluster;
  users: LoadUser[];
  codes: RedeemCode[];
  /** Planted in client-controlled fields; Tollgate must never call it. */
  trap: TrapServer;
  log: LoadLog;
}

/**
 * One kind of thing a client does, run against instance `instance`. An operation checks what it can see
 * at once (no 5xx, no hang, a clear error body) through `ctx.cluster.tally.check`, and records in
 * `ctx.log` what can only be checked against the database afterwards (metered calls by request id,
 * check-ins, redemptions). To add one: write it like the chat operations and list it in operations.ts.
 */
export interface Operation {
  readonly name: string;
  /** Relative frequency in the mixed load. */
  readonly weight: number;
  run(ctx: LoadContext, instance: number): Promise<void>;
}

export function pick<T>(items: readonly T[]): T {
  if (items.length === 0) throw new Error('pick from an empty list');
  return items[Math.floor(Math.random() * items.length)]!;
}

/** No 5xx, no hang, a clear body on every refusal, and only the statuses this operation may give. */
export function checkAnswer(
  ctx: LoadContext,
  operation: string,
  answer: Answer,
  allowed: number[],
): answer is Extract<Answer, { kind: 'answer' }> {
  ctx.log.status(operation, answer);
  const tally = ctx.cluster.tally;
  if (answer.kind !== 'answer')
    return tally.check(false, `${operation} ${answer.requestId}: no answer (${answer.kind}: ${answer.message})`);
  if (answer.status >= 400)
    tally.check(isClearError(answer), `${operation} ${answer.requestId}: ${answer.status} without a clear error body`);
  return tally.check(
    allowed.includes(answer.status),
    `${operation} ${answer.requestId}: unexpected ${answer.status} ${answer.text.slice(0, 200)}`,
  );
}

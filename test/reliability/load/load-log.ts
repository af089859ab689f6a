import type { Answer } from '#test/reliability/support/http.ts';

/** A metered call, as the client saw it; checked against usage_records once the load is over. */
export interface MeteredCall {
  requestId: string;
  operation: string;
  instance: number;
  answer: Answer['kind'];
  status: number | undefined;
  startedAt: number;
  endedAt: number;
  /** Token counts the fake was told to report (`usage=P,C`): the record must say exactly these. */
  reported?: { input: number; output: number };
  /** The usage record must be estimated (the upstream reported none). */
  estimated?: boolean;
}

/** What the load did, for the checks that need the database. */
export class LoadLog {
  readonly calls: MeteredCall[] = [];
  /** Successful check-ins per user id. */
  readonly checkins = new Map<string, number>();
  /** Successful redemptions per code id, and per code+user. */
  readonly redeemed = new Map<string, number>();
  readonly redeemedBy = new Map<string, number>();
  /** Orders the load paid for, by order number: each must end fulfilled, granted once, and be counted as revenue. */
  readonly paidOrders = new Map<string, { userId: string; amount: number; currency: string }>();
  /** Answers per operation and status (`network`/`timeout` for none), for the notes. */
  readonly statuses = new Map<string, Map<string, number>>();

  status(operation: string, answer: Answer): void {
    this.count(operation, answer.kind === 'answer' ? String(answer.status) : answer.kind);
  }

  count(operation: string, label: string): void {
    const byStatus = this.statuses.get(operation) ?? new Map<string, number>();
    byStatus.set(label, (byStatus.get(label) ?? 0) + 1);
    this.statuses.set(operation, byStatus);
  }

  summary(): string {
    return [...this.statuses]
      .map(
        ([operation, byStatus]) =>
          `${operation} ${[...byStatus]
            .sort()
            .map(([status, n]) => `${status}×${n}`)
            .join(' ')}`,
      )
      .join('; ');
  }
}

import type { Usage } from '#modules/pricing/price.ts';
import type { Role } from '#modules/users/users.tables.ts';

/** Who is calling what: fixed for the life of one paid call. */
export interface CallContext {
  /** The request id (x-request-id), for tracing; possibly chosen by the client. */
  requestId: string;
  userId: string;
  keyId: string | null;
  role: Role;
  /** What was called, as the usage record names it (`chat.completions`, `dify.chat-messages`, …). */
  endpoint: string;
  model: string;
  stream: boolean;
  /** performance.now() when the call began, for its latency. */
  startedAt: number;
  /** The user's plan's price multiplier in thousandths (docs/plans.md), set at admission; absent: ×1. */
  planMultiplierPermille?: number;
}

/** How a call ended, for its usage record. */
export interface CallEnd {
  channelId: string | null;
  httpStatus: number;
  endReason: string;
  error?: string | undefined;
}

/** What a call cost beyond its hold is done with (see docs/money.md). */
export type Overrun =
  /** Never charged: the call could be cut short to what was held, so the charge stops at the hold. */
  | 'capped'
  /** Charged in full (the upstream cannot be stopped at a budget: Dify); the balance may go below zero. */
  | 'charged';

export type { Usage };

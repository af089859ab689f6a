import type { Selectable } from 'kysely';

export type UsageStatus = 'ok' | 'error';
export type UsageSource = 'upstream' | 'estimated' | 'none';

/** One row per metered call: who, through what, how much, how it ended. */
export interface UsageRecordsTable {
  id: string;
  request_id: string;
  user_id: string;
  key_id: string | null;
  channel_id: string | null;
  /** `chat.completions`, `completions`, `embeddings`, `images.generations`, `dify.chat-messages`, … */
  endpoint: string;
  model: string;
  stream: number;
  input_tokens: number;
  output_tokens: number;
  credits: number;
  latency_ms: number;
  status: UsageStatus;
  http_status: number;
  /** `stop`, `length`, `tool_calls`, `client_disconnect`, `upstream_error`, `timeout`, … */
  end_reason: string;
  usage_source: UsageSource;
  error: string | null;
  created_at: number;
  /** Credits the call cost beyond what was held for it (a call that could not be cut short: charged in full); 0 for most. */
  overrun: number;
}

export interface UsageTables {
  usage_records: UsageRecordsTable;
}

export type UsageRow = Selectable<UsageRecordsTable>;

/** Every column of `usage_records`, in the order the hand-written inserts list them. */
export const USAGE_COLUMNS = [
  'id',
  'request_id',
  'user_id',
  'key_id',
  'channel_id',
  'endpoint',
  'model',
  'stream',
  'input_tokens',
  'output_tokens',
  'credits',
  'latency_ms',
  'status',
  'http_status',
  'end_reason',
  'usage_source',
  'error',
  'created_at',
  'overrun',
] as const satisfies ReadonlyArray<keyof UsageRow>;

export type UsageColumn = (typeof USAGE_COLUMNS)[number];

/** Fails to compile when a column of the table is missing from USAGE_COLUMNS (an insert would leave it out). */
export type UsageColumnsComplete = Complete<[Exclude<keyof UsageRow, UsageColumn>] extends [never] ? true : false>;
type Complete<T extends true> = T;

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
}

export interface UsageTables {
  usage_records: UsageRecordsTable;
}

export type UsageRow = Selectable<UsageRecordsTable>;

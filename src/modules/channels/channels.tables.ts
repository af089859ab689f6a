import type { Selectable } from 'kysely';

/** `openai`: an OpenAI-compatible API serving models; `dify`: one Dify app (its app key is the secret). */
export type ChannelKind = 'openai' | 'dify';

/** An upstream an admin configured: where to send calls for some models, and with which secret. */
export interface ChannelsTable {
  id: string;
  name: string;
  kind: ChannelKind;
  /** Up to and including `/v1`, e.g. https://api.openai.com/v1 */
  base_url: string;
  /** The upstream API key, sealed with MASTER_KEY; never returned by the API. */
  secret_sealed: string;
  /** JSON array of the model names this channel serves. */
  models: string;
  /** JSON object: the name a client asks for → the name sent upstream. */
  model_map: string;
  priority: number;
  weight: number;
  /** The admin's switch (1/0). Automation never touches it. */
  enabled: number;
  /** Set when health checks took the channel out; cleared when a probe finds it healthy. */
  auto_disabled_at: number | null;
  consecutive_failures: number;
  last_error: string | null;
  /** Dify apps: the app's mode (chat, agent-chat, advanced-chat, completion, workflow); null otherwise. */
  app_mode: string | null;
  /** Dify apps: JSON of their DifyPrices; null otherwise. */
  prices: string | null;
  created_at: number;
  updated_at: number;
}

export interface ChannelsTables {
  channels: ChannelsTable;
}

export type ChannelRow = Selectable<ChannelsTable>;

import type { Selectable } from 'kysely';

/** A user's API key. The secret is shown once; only its SHA-256 is kept. */
export interface ApiKeysTable {
  id: string;
  user_id: string;
  name: string;
  key_hash: string;
  /** The start of the secret (`sk-AbCd`), for telling keys apart in a list. */
  key_prefix: string;
  key_last4: string;
  /** 1 or 0 (portable boolean). */
  enabled: number;
  expires_at: number | null;
  /** JSON array of model names this key may call; null = any. */
  allowed_models: string | null;
  /** JSON array of IPs or CIDR ranges this key may be used from; null = anywhere. */
  allowed_ips: string | null;
  /** Most credits this key may spend in total; null = no cap. */
  credit_cap: number | null;
  /**
   * For a key with a cap only: credits charged through it plus those held for its calls in flight (what
   * the cap is checked against). Set to what the key had spent when a cap is first put on it.
   */
  credits_used: number;
  rpm: number | null;
  tpm: number | null;
  concurrency: number | null;
  rpd: number | null;
  last_used_at: number | null;
  created_at: number;
  updated_at: number;
  /** Deleted keys stay for the usage records that name them; they never authenticate again. */
  deleted_at: number | null;
}

export interface KeysTables {
  api_keys: ApiKeysTable;
}

export type ApiKeyRow = Selectable<ApiKeysTable>;

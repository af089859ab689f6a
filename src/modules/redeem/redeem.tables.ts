import type { Selectable } from 'kysely';

export interface RedeemCodesTable {
  id: string;
  batch_id: string;
  /** SHA-256 of the normalized code: how a redemption finds it. */
  code_hash: string;
  /** The code, sealed with MASTER_KEY, so admins can list and export it. */
  code_sealed: string;
  credits: number;
  max_uses: number;
  used_count: number;
  expires_at: number | null;
  disabled_at: number | null;
  note: string | null;
  /** A plan the code activates (for `plan_days` days), besides its credits (which may be 0). */
  plan_id: string | null;
  plan_days: number | null;
  created_by: string | null;
  created_at: number;
}

/** Who redeemed which code; a user redeems a given code at most once. */
export interface RedemptionsTable {
  id: string;
  code_id: string;
  user_id: string;
  credits: number;
  created_at: number;
}

export interface RedeemTables {
  redeem_codes: RedeemCodesTable;
  redemptions: RedemptionsTable;
}

export type RedeemCodeRow = Selectable<RedeemCodesTable>;
export type RedemptionRow = Selectable<RedemptionsTable>;

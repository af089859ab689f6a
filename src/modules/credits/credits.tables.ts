import type { Selectable } from 'kysely';

export type LedgerKind =
  'signup_bonus' | 'checkin' | 'redeem' | 'admin_adjust' | 'usage' | 'refund' | 'recharge' | 'plan';
/** `expired`: freed by the sweeper after its deadline; a late settle may still bill it (the call did run). */
export type HoldStatus = 'open' | 'settled' | 'released' | 'expired';

/** One row per user: the balance (always the sum of the user's ledger rows) and what holds keep aside. */
export interface CreditAccountsTable {
  user_id: string;
  balance: number;
  held: number;
  updated_at: number;
}

/** Append-only. Every credit movement, with the key that makes replaying it a no-op. */
export interface CreditLedgerTable {
  id: string;
  user_id: string;
  /** Signed: positive grants, negative charges. */
  amount: number;
  balance_after: number;
  kind: LedgerKind;
  reason: string;
  reference: string | null;
  idempotency_key: string;
  created_at: number;
}

/** Credits set aside for a call in flight; closed by a settle or a release, or expired by the sweeper when stale. */
export interface CreditHoldsTable {
  id: string;
  user_id: string;
  amount: number;
  status: HoldStatus;
  reference: string | null;
  idempotency_key: string;
  created_at: number;
  expires_at: number;
  closed_at: number | null;
  /** What the settle charged (may exceed `amount`: the only way into debt). */
  charged: number | null;
}

export interface CreditsTables {
  credit_accounts: CreditAccountsTable;
  credit_ledger: CreditLedgerTable;
  credit_holds: CreditHoldsTable;
}

export type CreditAccountRow = Selectable<CreditAccountsTable>;
export type LedgerRow = Selectable<CreditLedgerTable>;
export type HoldRow = Selectable<CreditHoldsTable>;

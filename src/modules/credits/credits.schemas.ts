import { Type } from 'typebox';
import type { LedgerRow } from './credits.tables.ts';

export const BalanceResponse = Type.Object({
  credits: Type.Integer({ description: 'The balance (seed 001 §2.1)' }),
  held: Type.Integer({ description: 'Set aside for calls in flight' }),
  available: Type.Integer({ description: 'credits − held: what a new call may spend' }),
});

/** Seed 001 §2.2's item, plus the balance after the movement and its reference. */
export const LedgerItem = Type.Object({
  id: Type.String(),
  amount: Type.Integer(),
  type: Type.String({ description: 'signup_bonus, checkin, redeem, admin_adjust, usage, refund, recharge' }),
  reason: Type.String(),
  balanceAfter: Type.Integer(),
  reference: Type.Union([Type.String(), Type.Null()]),
  createdAt: Type.String(),
});

export function toLedgerItem(row: LedgerRow) {
  return {
    id: row.id,
    amount: row.amount,
    type: row.kind,
    reason: row.reason,
    balanceAfter: row.balance_after,
    reference: row.reference,
    createdAt: new Date(row.created_at).toISOString(),
  };
}

export const AdjustBody = Type.Object(
  {
    amount: Type.Integer({
      minimum: -1_000_000_000,
      maximum: 1_000_000_000,
      not: { const: 0 },
      description: 'Positive adds, negative takes',
    }),
    reason: Type.String({ minLength: 1, maxLength: 255 }),
  },
  { additionalProperties: false },
);

/** A retry with the same key moves the credits once; a key that cannot be honoured is refused, never ignored. */
export const AdjustHeaders = Type.Object({
  'idempotency-key': Type.Optional(
    Type.String({ minLength: 1, maxLength: 128, description: 'Makes a retried adjustment safe' }),
  ),
});

export const AdjustResponse = Type.Object({ applied: Type.Boolean(), balance: Type.Integer(), entry: LedgerItem });

export const UserIdParams = Type.Object(
  { id: Type.String({ minLength: 1, maxLength: 36 }) },
  { additionalProperties: false },
);

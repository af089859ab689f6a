import type { Selectable } from 'kysely';
import type { PayChannel, ProviderName } from '#modules/payments/payment-provider.ts';

export type OrderKind = 'plan' | 'credits';
/**
 * `pending`: waiting for the payer; `fulfilled`: paid and granted (in one transaction); `paid`: paid, but
 * the grant was refused (the level rule) or the payment came after the order closed — an admin refunds
 * it; `closed`: expired or cancelled, never paid; `partially_refunded` / `refunded`: after refunds.
 */
export type OrderStatus = 'pending' | 'paid' | 'fulfilled' | 'closed' | 'partially_refunded' | 'refunded';
export type RefundStatus = 'pending' | 'succeeded' | 'failed';

export interface OrdersTable {
  id: string;
  /** The provider's `out_trade_no`. */
  order_no: string;
  user_id: string;
  kind: OrderKind;
  plan_id: string | null;
  plan_code: string | null;
  /** The days the plan runs (null: lifetime), as sold. */
  plan_days: number | null;
  pack_code: string | null;
  /** Credits the order grants (a credits order), 0 for a plan. */
  credits: number;
  description: string;
  /** Minor units (fen, cents) of `currency`, from the server's price tables. */
  amount: number;
  currency: string;
  provider: ProviderName;
  channel: PayChannel;
  /** prepay_id, Checkout Session id. */
  provider_ref: string | null;
  /** WeChat's transaction_id, Stripe's PaymentIntent id. */
  transaction_id: string | null;
  status: OrderStatus;
  /** Why an order is `paid` without its grant, or was closed. */
  note: string | null;
  refund_requested: number;
  refunded_amount: number;
  expires_at: number;
  paid_at: number | null;
  fulfilled_at: number | null;
  closed_at: number | null;
  lease_until: number | null;
  lease_owner: string | null;
  /** How many times the reconcile job asked the provider. */
  queries: number;
  created_at: number;
  updated_at: number;
}

export interface OrderRefundsTable {
  id: string;
  order_id: string;
  /** The provider's `out_refund_no`: retrying it never refunds twice. */
  refund_no: string;
  amount: number;
  currency: string;
  reason: string;
  status: RefundStatus;
  provider_refund_id: string | null;
  credits_reversed: number;
  /** Credits the refund should have taken back but the user had already spent (docs/payments.md). */
  credits_shortfall: number;
  /** What the refund did to the plan the order bought (`ended`, `shortened by 30 days`, `kept`). */
  plan_effect: string | null;
  /** The admin (user id) or `adminkey` or `provider` (a refund made at the provider's dashboard). */
  requested_by: string | null;
  lease_until: number | null;
  created_at: number;
  updated_at: number;
  settled_at: number | null;
}

export interface OrderEventsTable {
  id: string;
  order_id: string;
  /** created, checkout, paid, fulfilled, paid_unfulfilled, closed, refund_requested, refunded, refund_failed, mismatch */
  type: string;
  /** notification, query, answer, admin, user, reconcile, checkout */
  via: string;
  event_id: string | null;
  detail: string | null;
  created_at: number;
}

export interface OrdersTables {
  orders: OrdersTable;
  order_refunds: OrderRefundsTable;
  order_events: OrderEventsTable;
}

export type OrderRow = Selectable<OrdersTable>;
export type RefundRow = Selectable<OrderRefundsTable>;
export type OrderEventRow = Selectable<OrderEventsTable>;

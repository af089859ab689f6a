import { Type } from 'typebox';
import { Paging } from '#core/http/pagination.ts';
import type { Checkout } from '#modules/payments/payment-provider.ts';
import type { CreditPack } from './orders.packs.ts';
import type { OrderEventRow, OrderRow, RefundRow } from './orders.tables.ts';

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(schema: T) => Type.Union([schema, Type.Null()]);
const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

export const STATUSES = ['pending', 'paid', 'fulfilled', 'closed', 'partially_refunded', 'refunded'] as const;
export const CHANNELS = ['wechat_jsapi', 'wechat_native', 'stripe_checkout'] as const;
const Channel = Type.Union([
  Type.Literal('wechat_jsapi'),
  Type.Literal('wechat_native'),
  Type.Literal('stripe_checkout'),
]);
const Status = Type.Union([
  Type.Literal('pending'),
  Type.Literal('paid'),
  Type.Literal('fulfilled'),
  Type.Literal('closed'),
  Type.Literal('partially_refunded'),
  Type.Literal('refunded'),
]);

export const OrderItemSchema = Type.Object({
  id: Type.String(),
  orderNo: Type.String(),
  kind: Type.Union([Type.Literal('plan'), Type.Literal('credits')]),
  status: Status,
  description: Type.String(),
  amount: Type.Integer({ description: 'Minor units (fen, cents) of currency' }),
  currency: Type.String(),
  planId: Nullable(Type.String()),
  planCode: Nullable(Type.String()),
  packId: Nullable(Type.String()),
  credits: Type.Integer(),
  provider: Type.String(),
  channel: Channel,
  transactionId: Nullable(Type.String()),
  refundedAmount: Type.Integer(),
  createdAt: Type.String(),
  expiresAt: Type.String(),
  paidAt: Nullable(Type.String()),
  fulfilledAt: Nullable(Type.String()),
  closedAt: Nullable(Type.String()),
  updatedAt: Type.String(),
});

export type OrderItemView = ReturnType<typeof toOrderItem>;

export function toOrderItem(row: OrderRow) {
  return {
    id: row.id,
    orderNo: row.order_no,
    kind: row.kind,
    status: row.status,
    description: row.description,
    amount: row.amount,
    currency: row.currency,
    planId: row.plan_id,
    planCode: row.plan_code,
    packId: row.pack_code,
    credits: row.credits,
    provider: row.provider,
    channel: row.channel,
    transactionId: row.transaction_id,
    refundedAmount: row.refunded_amount,
    createdAt: iso(row.created_at)!,
    expiresAt: iso(row.expires_at)!,
    paidAt: iso(row.paid_at),
    fulfilledAt: iso(row.fulfilled_at),
    closedAt: iso(row.closed_at),
    updatedAt: iso(row.updated_at)!,
  };
}

export const RefundItemSchema = Type.Object({
  id: Type.String(),
  refundNo: Type.String(),
  amount: Type.Integer(),
  currency: Type.String(),
  reason: Type.String(),
  status: Type.Union([Type.Literal('pending'), Type.Literal('succeeded'), Type.Literal('failed')]),
  providerRefundId: Nullable(Type.String()),
  creditsReversed: Type.Integer(),
  creditsShortfall: Type.Integer(),
  planEffect: Nullable(Type.String()),
  requestedBy: Nullable(Type.String()),
  createdAt: Type.String(),
  settledAt: Nullable(Type.String()),
});

export function toRefundItem(row: RefundRow) {
  return {
    id: row.id,
    refundNo: row.refund_no,
    amount: row.amount,
    currency: row.currency,
    reason: row.reason,
    status: row.status,
    providerRefundId: row.provider_refund_id,
    creditsReversed: row.credits_reversed,
    creditsShortfall: row.credits_shortfall,
    planEffect: row.plan_effect,
    requestedBy: row.requested_by,
    createdAt: iso(row.created_at)!,
    settledAt: iso(row.settled_at),
  };
}

export const OrderEventSchema = Type.Object({
  type: Type.String(),
  via: Type.String(),
  eventId: Nullable(Type.String()),
  detail: Nullable(Type.String()),
  at: Type.String(),
});

export const toOrderEvent = (row: OrderEventRow) => ({
  type: row.type,
  via: row.via,
  eventId: row.event_id,
  detail: row.detail,
  at: iso(row.created_at)!,
});

/** The admin's view of an order: everything, with its refunds and history. */
export const AdminOrderSchema = Type.Intersect([
  OrderItemSchema,
  Type.Object({
    userId: Type.String(),
    providerRef: Nullable(Type.String()),
    note: Nullable(Type.String()),
    refundRequested: Type.Integer(),
    queries: Type.Integer(),
  }),
]);

export const toAdminOrder = (row: OrderRow) => ({
  ...toOrderItem(row),
  userId: row.user_id,
  providerRef: row.provider_ref,
  note: row.note,
  refundRequested: row.refund_requested,
  queries: row.queries,
});

export const AdminOrderDetailSchema = Type.Intersect([
  AdminOrderSchema,
  Type.Object({ refunds: Type.Array(RefundItemSchema), events: Type.Array(OrderEventSchema) }),
]);

export const CheckoutSchema = Type.Union([
  Type.Object({
    channel: Type.Literal('wechat_jsapi'),
    payment: Type.Object({
      appId: Type.String(),
      timeStamp: Type.String(),
      nonceStr: Type.String(),
      package: Type.String(),
      signType: Type.Literal('RSA'),
      paySign: Type.String(),
    }),
  }),
  Type.Object({ channel: Type.Literal('wechat_native'), codeUrl: Type.String() }),
  Type.Object({ channel: Type.Literal('stripe_checkout'), url: Type.String(), sessionId: Type.String() }),
]);

/** What creating an order answers: the order, and what the client needs to take the payer to pay. */
export const CreatedOrderSchema = Type.Object({ order: OrderItemSchema, checkout: CheckoutSchema });
export const toCreated = (order: OrderRow, checkout: Checkout) => ({ order: toOrderItem(order), checkout });

const Url = Type.String({ maxLength: 2000, pattern: '^https?://' });

export const PurchaseOrderBody = Type.Object(
  {
    planId: Type.String({ minLength: 1, maxLength: 64, description: 'A plan id or code' }),
    channel: Type.Optional(Channel),
    successUrl: Type.Optional(Url),
    cancelUrl: Type.Optional(Url),
  },
  { additionalProperties: true },
);

export const RechargeBody = Type.Object(
  {
    packId: Type.Optional(Type.String({ minLength: 1, maxLength: 32, description: 'A credit pack code' })),
    amount: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 100_000_000, description: 'An amount in CNY fen, within the bounds' }),
    ),
    channel: Type.Optional(Channel),
    successUrl: Type.Optional(Url),
    cancelUrl: Type.Optional(Url),
  },
  { additionalProperties: true },
);

/** The console's one way to buy: a plan or credits. */
export const NewOrderBody = Type.Object(
  {
    kind: Type.Union([Type.Literal('plan'), Type.Literal('credits')]),
    planId: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    packId: Type.Optional(Type.String({ minLength: 1, maxLength: 32 })),
    amount: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000_000 })),
    channel: Type.Optional(Channel),
    successUrl: Type.Optional(Url),
    cancelUrl: Type.Optional(Url),
  },
  { additionalProperties: false },
);

export const OrdersQuery = Type.Object(
  {
    page: Paging.page(),
    limit: Paging.limit({ default: 20 }),
    cursor: Type.Optional(Paging.cursor()),
    status: Type.Optional(Status),
  },
  { additionalProperties: false },
);

export const AdminOrdersQuery = Type.Object(
  {
    page: Paging.page(),
    limit: Paging.limit({ default: 20 }),
    cursor: Type.Optional(Paging.cursor()),
    status: Type.Optional(Status),
    provider: Type.Optional(Type.Union([Type.Literal('wechat'), Type.Literal('stripe')])),
    userId: Type.Optional(Type.String({ minLength: 1, maxLength: 36 })),
    search: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 128,
        description: 'Order id or number, transaction id, provider reference, user id',
      }),
    ),
    from: Type.Optional(Type.String({ format: 'date-time', description: 'Made from this moment, inclusive' })),
    to: Type.Optional(Type.String({ format: 'date-time', description: 'Made before this moment, exclusive' })),
  },
  { additionalProperties: false },
);

export const OrderIdParam = Type.Object({ orderId: Type.String({ minLength: 1, maxLength: 64 }) });

export const RefundBody = Type.Object(
  {
    amount: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 1_000_000_000, description: 'Minor units; default: all that is left' }),
    ),
    reason: Type.String({ minLength: 1, maxLength: 500 }),
  },
  { additionalProperties: false },
);

export const PackSchema = Type.Object({
  id: Type.String(),
  credits: Type.Integer(),
  price: Type.Integer({ description: 'CNY fen' }),
  currency: Type.Literal('CNY'),
  otherPrice: Nullable(Type.Object({ currency: Type.String(), amount: Type.Integer() })),
});

export const toPack = (pack: CreditPack) => ({
  id: pack.code,
  credits: pack.credits,
  price: pack.price,
  currency: 'CNY' as const,
  otherPrice: pack.otherPrice,
});

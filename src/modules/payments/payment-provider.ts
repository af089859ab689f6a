/**
 * What the orders module asks of a payment provider (WeChat Pay, Stripe), and what a provider tells
 * the orders module. A provider speaks its protocol (signing, verifying, decrypting) and nothing
 * else: it never writes an order, a ledger row or a plan. What a verified notification or an active
 * query proves is handed to `OrdersService` as `PaymentEvidence` / `RefundEvidence`, which checks it
 * against the order and fulfils or reverses once.
 */

export type ProviderName = 'wechat' | 'stripe';

/** How the payer pays: WeChat inside the mini-program (JSAPI), WeChat by QR (Native), Stripe Checkout. */
export type PayChannel = 'wechat_jsapi' | 'wechat_native' | 'stripe_checkout';

/** An order as a provider needs it to ask for payment. Amounts are in minor units (fen, cents). */
export interface OrderToPay {
  /** Tollgate's order number: WeChat's `out_trade_no`, Stripe's `client_reference_id`/metadata. */
  orderNo: string;
  amount: number;
  /** ISO 4217, upper case (`CNY`, `USD`). */
  currency: string;
  /** What the payer sees on their bill. */
  description: string;
  /** The payer's mini-program openid (JSAPI only). */
  payerOpenid?: string;
  /** After this the order can no longer be paid (epoch ms). */
  expiresAt: number;
  /** Stripe Checkout: where the browser returns. */
  successUrl?: string;
  cancelUrl?: string;
}

/** What the client needs to take the payer to pay. */
export type Checkout =
  | {
      channel: 'wechat_jsapi';
      /** Exactly the object `wx.requestPayment` takes. */
      payment: {
        appId: string;
        timeStamp: string;
        nonceStr: string;
        package: string;
        signType: 'RSA';
        paySign: string;
      };
    }
  | { channel: 'wechat_native'; codeUrl: string }
  | { channel: 'stripe_checkout'; url: string; sessionId: string };

export interface CheckoutResult {
  checkout: Checkout;
  /** The provider's reference for the attempt (prepay_id, Checkout Session id), kept on the order. */
  providerRef: string;
}

/** A payment the provider has proved (a verified notification or an answer to our query). */
export interface PaymentEvidence {
  provider: ProviderName;
  orderNo: string;
  /** WeChat's `transaction_id`, Stripe's PaymentIntent id. */
  transactionId: string;
  /** What was paid, in minor units, and its currency: the orders module compares them with the order. */
  amount: number;
  currency: string;
  paidAt: number;
  /** Where the evidence came from, for the log and the order's history. */
  via: 'notification' | 'query';
}

/** The provider's view of an order when asked (the reconcile job). */
export type PaymentState =
  { state: 'paid'; evidence: PaymentEvidence } | { state: 'pending' } | { state: 'closed' } | { state: 'not_found' };

export interface RefundRequest {
  orderNo: string;
  /** Tollgate's refund number (`out_refund_no`), unique per refund: retrying it never refunds twice. */
  refundNo: string;
  transactionId: string;
  /** The order's whole amount and the part to refund, minor units. */
  total: number;
  amount: number;
  currency: string;
  reason: string;
}

/** A refund the provider has proved (its answer, its notification, or our query). */
export interface RefundEvidence {
  provider: ProviderName;
  orderNo: string;
  refundNo: string;
  providerRefundId: string;
  amount: number;
  currency: string;
  state: 'pending' | 'succeeded' | 'failed';
  via: 'answer' | 'notification' | 'query';
}

export interface PaymentProvider {
  readonly name: ProviderName;
  readonly channels: readonly PayChannel[];
  /**
   * ISO 4217, upper case: the one currency this provider charges in (`CNY` for WeChat Pay, the configured
   * `STRIPE_CURRENCY` for Stripe). The orders module prices an order in it (a plan's `price_fen` for CNY,
   * its other price in this currency otherwise) and refuses a product that has no price in it.
   */
  readonly currency: string;
  /** Ask the provider for a payment (prepay, Checkout Session). Throws a domain error when it refuses. */
  createCheckout(order: OrderToPay, channel: PayChannel): Promise<CheckoutResult>;
  /** Ask the provider what became of an order (the reconcile job; WeChat may never notify). */
  query(orderNo: string, providerRef: string | null): Promise<PaymentState>;
  /** Stop an unpaid order from being paid later (expired or cancelled). */
  close(orderNo: string, providerRef: string | null): Promise<void>;
  refund(request: RefundRequest): Promise<RefundEvidence>;
}

/**
 * Where a provider's verified news goes: `OrdersService` implements it. Each call checks the
 * evidence against the order (amount, currency, provider, state) and changes it once, in one
 * transaction with its grant or reversal; a replay answers `already` and changes nothing.
 * `eventId` is the provider's id for the notification or webhook event, when it has one.
 * Throws `AppError('ORDER_NOT_FOUND')` for an order Tollgate never made and
 * `AppError('PAYMENT_MISMATCH')` when the evidence disagrees with the order (nothing is written).
 */
export interface PaymentSink {
  confirmPaid(evidence: PaymentEvidence, eventId: string | null): Promise<'fulfilled' | 'already'>;
  confirmRefund(evidence: RefundEvidence, eventId: string | null): Promise<'applied' | 'already'>;
  /** The provider says the order can no longer be paid (closed, expired, Checkout Session expired). */
  confirmClosed(provider: ProviderName, orderNo: string, eventId: string | null): Promise<'closed' | 'already'>;
}

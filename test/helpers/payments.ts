import { randomBytes } from 'node:crypto';
import { AppError } from '#core/errors.ts';
import type {
  CheckoutResult,
  OrderToPay,
  PayChannel,
  PaymentEvidence,
  PaymentProvider,
  PaymentState,
  ProviderName,
  RefundEvidence,
  RefundRequest,
} from '#modules/payments/payment-provider.ts';

/**
 * A test-only PaymentProvider for the order state machine (test/orders/**): it keeps the orders it
 * was asked to take in memory, as a provider's own books would, and lets a test pay, close or refund
 * them and read back what was asked. It speaks no wire protocol: the end-to-end tests through real
 * WeChat Pay and Stripe fakes live in test/payments/.
 */
export class TestProvider implements PaymentProvider {
  readonly channels: readonly PayChannel[];
  /** What the provider knows of each order number. */
  readonly orders = new Map<
    string,
    { order: OrderToPay; state: 'pending' | 'paid' | 'closed'; transactionId?: string }
  >();
  readonly refunds = new Map<string, RefundRequest & { id: string }>();
  /** How the next refund answers: succeeded now, pending (a notification later), refused (4xx), or no answer. */
  refundMode: 'succeeded' | 'pending' | 'refused' | 'unreachable' = 'succeeded';
  /** The next createCheckout throws this. */
  failCheckout: Error | null = null;
  closes = 0;

  constructor(
    readonly name: ProviderName = 'wechat',
    readonly currency = 'CNY',
    channels?: readonly PayChannel[],
  ) {
    this.channels = channels ?? (name === 'wechat' ? ['wechat_jsapi', 'wechat_native'] : ['stripe_checkout']);
  }

  createCheckout(order: OrderToPay, channel: PayChannel): Promise<CheckoutResult> {
    if (this.failCheckout) {
      const error = this.failCheckout;
      this.failCheckout = null;
      return Promise.reject(error);
    }
    this.orders.set(order.orderNo, { order, state: 'pending' });
    const ref = `ref_${randomBytes(6).toString('hex')}`;
    if (channel === 'wechat_jsapi')
      return Promise.resolve({
        providerRef: ref,
        checkout: {
          channel,
          payment: {
            appId: 'wx-test',
            timeStamp: String(Math.floor(Date.now() / 1000)),
            nonceStr: randomBytes(8).toString('hex'),
            package: `prepay_id=${ref}`,
            signType: 'RSA',
            paySign: 'test-signature',
          },
        },
      });
    if (channel === 'wechat_native')
      return Promise.resolve({
        providerRef: ref,
        checkout: { channel, codeUrl: `weixin://wxpay/bizpayurl?pr=${ref}` },
      });
    return Promise.resolve({
      providerRef: ref,
      checkout: { channel, url: `https://checkout.test/${ref}`, sessionId: ref },
    });
  }

  /** The payer pays: what a verified notification would hand the sink. */
  pay(orderNo: string, overrides: Partial<PaymentEvidence> = {}): PaymentEvidence {
    const known = this.orders.get(orderNo);
    if (!known) throw new Error(`the provider was never asked about ${orderNo}`);
    known.state = 'paid';
    known.transactionId ??= `tx_${randomBytes(8).toString('hex')}`;
    return {
      provider: this.name,
      orderNo,
      transactionId: known.transactionId,
      amount: known.order.amount,
      currency: known.order.currency,
      paidAt: Date.now(),
      via: 'notification',
      ...overrides,
    };
  }

  query(orderNo: string): Promise<PaymentState> {
    const known = this.orders.get(orderNo);
    if (!known) return Promise.resolve({ state: 'not_found' });
    if (known.state === 'paid')
      return Promise.resolve({ state: 'paid', evidence: { ...this.pay(orderNo), via: 'query' } });
    return Promise.resolve({ state: known.state });
  }

  close(orderNo: string): Promise<void> {
    this.closes += 1;
    const known = this.orders.get(orderNo);
    if (known && known.state === 'pending') known.state = 'closed';
    return Promise.resolve();
  }

  refund(request: RefundRequest): Promise<RefundEvidence> {
    const mode = this.refundMode;
    if (mode === 'refused') return Promise.reject(new AppError('VALIDATION_FAILED', { detail: 'refund refused' }));
    const seen = this.refunds.get(request.refundNo);
    const id = seen?.id ?? `rf_${randomBytes(6).toString('hex')}`;
    this.refunds.set(request.refundNo, { ...request, id });
    if (mode === 'unreachable') return Promise.reject(new Error('connect ECONNREFUSED'));
    return Promise.resolve(this.refundEvidence(request.refundNo, mode));
  }

  /** What a refund notification says about `refundNo`. */
  refundEvidence(refundNo: string, state: RefundEvidence['state'] = 'succeeded'): RefundEvidence {
    const request = this.refunds.get(refundNo);
    if (!request) throw new Error(`no refund ${refundNo}`);
    return {
      provider: this.name,
      orderNo: request.orderNo,
      refundNo,
      providerRefundId: request.id,
      amount: request.amount,
      currency: request.currency,
      state,
      via: state === 'succeeded' ? 'answer' : 'notification',
    };
  }
}

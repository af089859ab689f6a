import type { KeyObject } from 'node:crypto';
import type { FastifyBaseLogger } from 'fastify';
import type { Clock } from '#core/clock.ts';
import { AppError } from '#core/errors.ts';
import type {
  Checkout,
  CheckoutResult,
  OrderToPay,
  PayChannel,
  PaymentProvider,
  PaymentState,
  RefundEvidence,
  RefundRequest,
} from '../payment-provider.ts';
import { type WeChatPayClient, WeChatPayError, WeChatPayUnreachable, WeChatPayUntrusted } from './wechat-pay.client.ts';
import { chinaTime, nonce, paySign } from './wechat-pay.crypto.ts';
import { EvidenceRejected, readRefund, readTransaction, type Merchant } from './wechat-pay.evidence.ts';

/**
 * WeChat Pay API v3 as a PaymentProvider: JSAPI (the mini-program, `wx.requestPayment` parameters
 * signed with the merchant key) and Native (a `code_url` the console shows as a QR code), query by
 * out_trade_no, close, refund and refund query. It never writes an order: what it proves goes back as
 * evidence (docs/wechat-pay.md).
 */
export interface WeChatPayOptions extends Merchant {
  privateKey: KeyObject;
  notifyUrl: string;
  refundNotifyUrl: string;
  clock: Clock;
  log: FastifyBaseLogger;
}

export class WeChatPay implements PaymentProvider {
  readonly name = 'wechat' as const;
  readonly currency = 'CNY';
  readonly channels: readonly PayChannel[] = ['wechat_jsapi', 'wechat_native'];

  constructor(
    private readonly client: WeChatPayClient,
    private readonly options: WeChatPayOptions,
  ) {}

  async createCheckout(order: OrderToPay, channel: PayChannel): Promise<CheckoutResult> {
    if (channel !== 'wechat_jsapi' && channel !== 'wechat_native')
      throw new AppError('VALIDATION_FAILED', { detail: `WeChat Pay has no channel ${channel}` });
    if (order.currency !== 'CNY') throw new AppError('VALIDATION_FAILED', { detail: 'WeChat Pay takes CNY only' });
    if (channel === 'wechat_jsapi' && !order.payerOpenid) throw new AppError('WECHAT_PAY_OPENID_REQUIRED');
    const body = {
      appid: this.options.appid,
      mchid: this.options.mchid,
      // WeChat counts characters; 127 at most.
      description: [...order.description].slice(0, 127).join(''),
      out_trade_no: order.orderNo,
      time_expire: chinaTime(order.expiresAt),
      notify_url: this.options.notifyUrl,
      amount: { total: order.amount, currency: 'CNY' },
      ...(channel === 'wechat_jsapi' ? { payer: { openid: order.payerOpenid } } : {}),
    };
    const path = channel === 'wechat_jsapi' ? '/v3/pay/transactions/jsapi' : '/v3/pay/transactions/native';
    const answer = await this.send('prepay', () => this.client.call('POST', path, body));
    if (channel === 'wechat_native') {
      const codeUrl = answer?.code_url;
      if (typeof codeUrl !== 'string' || !codeUrl) throw this.unavailable('prepay answered without a code_url');
      return { checkout: { channel, codeUrl }, providerRef: codeUrl };
    }
    const prepayId = answer?.prepay_id;
    if (typeof prepayId !== 'string' || !prepayId) throw this.unavailable('prepay answered without a prepay_id');
    return { checkout: this.requestPayment(prepayId), providerRef: prepayId };
  }

  /** The object `wx.requestPayment` takes, signed with the merchant private key. */
  requestPayment(prepayId: string): Checkout {
    const timeStamp = String(Math.floor(this.options.clock.now() / 1000));
    const nonceStr = nonce();
    const pkg = `prepay_id=${prepayId}`;
    return {
      channel: 'wechat_jsapi',
      payment: {
        appId: this.options.appid,
        timeStamp,
        nonceStr,
        package: pkg,
        signType: 'RSA',
        paySign: paySign(this.options.privateKey, this.options.appid, timeStamp, nonceStr, pkg),
      },
    };
  }

  async query(orderNo: string): Promise<PaymentState> {
    let answer: Record<string, unknown> | undefined;
    try {
      answer = await this.send('query', () =>
        this.client.call(
          'GET',
          `/v3/pay/transactions/out-trade-no/${encodeURIComponent(orderNo)}?mchid=${this.options.mchid}`,
        ),
      );
    } catch (error) {
      if (error instanceof AppError && error.extra.wechat_code === 'ORDER_NOT_EXIST') return { state: 'not_found' };
      throw error;
    }
    const view = this.believe(() =>
      readTransaction(answer ?? {}, this.options, 'query', this.options.clock.now(), orderNo),
    );
    if (view.kind === 'paid') return { state: 'paid', evidence: view.evidence };
    return view.kind === 'pending' ? { state: 'pending' } : { state: 'closed' };
  }

  /** WeChat answers 204 even for an order it never saw: the caller queries afterwards to know. */
  async close(orderNo: string): Promise<void> {
    await this.send('close', () =>
      this.client.call('POST', `/v3/pay/transactions/out-trade-no/${encodeURIComponent(orderNo)}/close`, {
        mchid: this.options.mchid,
      }),
    );
  }

  async refund(request: RefundRequest): Promise<RefundEvidence> {
    if (request.currency !== 'CNY') throw new AppError('VALIDATION_FAILED', { detail: 'WeChat Pay refunds CNY only' });
    const answer = await this.send(
      'refund',
      () =>
        this.client.call('POST', '/v3/refund/domestic/refunds', {
          out_trade_no: request.orderNo,
          ...(request.transactionId ? { transaction_id: request.transactionId } : {}),
          out_refund_no: request.refundNo,
          reason: [...request.reason].slice(0, 80).join('') || undefined,
          notify_url: this.options.refundNotifyUrl,
          amount: { refund: request.amount, total: request.total, currency: 'CNY' },
        }),
      'WECHAT_PAY_REFUND_REFUSED',
    );
    return this.believe(() => readRefund(answer ?? {}, this.options, 'answer'));
  }

  /** What became of a refund (WeChat may never notify it either). */
  async queryRefund(refundNo: string): Promise<RefundEvidence | null> {
    try {
      const answer = await this.send('refund query', () =>
        this.client.call('GET', `/v3/refund/domestic/refunds/${encodeURIComponent(refundNo)}`),
      );
      return this.believe(() => readRefund(answer ?? {}, this.options, 'query'));
    } catch (error) {
      if (error instanceof AppError && error.extra.wechat_code === 'RESOURCE_NOT_EXISTS') return null;
      throw error;
    }
  }

  /**
   * Runs one call; WeChat Pay's refusals and outages become domain errors, logged for an operator.
   * A refusal (4xx) is `refused`: for a refund, a 409 that the orders module takes as final (the refund
   * fails and its amount is free again); an outage (5xx, 429, no or an unverified answer) is 503, and a
   * refund then stays pending to be asked again with the same number.
   */
  private async send(
    what: string,
    call: () => Promise<{ body: Record<string, unknown> | undefined }>,
    refused: 'WECHAT_PAY_REFUSED' | 'WECHAT_PAY_REFUND_REFUSED' = 'WECHAT_PAY_REFUSED',
  ): Promise<Record<string, unknown> | undefined> {
    try {
      return (await call()).body;
    } catch (error) {
      if (error instanceof WeChatPayError) {
        if (error.status >= 500 || error.code === 'FREQUENCY_LIMITED' || error.code === 'SYSTEM_ERROR') {
          this.options.log.warn({ err: error }, `WeChat Pay ${what}: busy or failing`);
          throw new AppError('WECHAT_PAY_UNAVAILABLE', {}, { wechat_code: error.code }, 5);
        }
        if (error.code === 'SIGN_ERROR' || error.code === 'MCH_NOT_EXISTS' || error.code === 'APPID_MCHID_NOT_MATCH')
          this.options.log.error({ err: error }, `WeChat Pay ${what}: refused our credentials; check WECHAT_PAY_*`);
        else this.options.log.warn({ err: error }, `WeChat Pay ${what} refused`);
        throw new AppError(refused, { detail: error.detail || error.code }, { wechat_code: error.code });
      }
      if (error instanceof WeChatPayUnreachable || error instanceof WeChatPayUntrusted) {
        this.options.log.warn({ err: error }, `WeChat Pay ${what}: no trustworthy answer`);
        throw new AppError('WECHAT_PAY_UNAVAILABLE', {}, {}, 5);
      }
      throw error;
    }
  }

  private believe<T>(read: () => T): T {
    try {
      return read();
    } catch (error) {
      if (!(error instanceof EvidenceRejected)) throw error;
      this.options.log.error({ err: error }, 'WeChat Pay answered about something that is not ours');
      throw this.unavailable(error.message);
    }
  }

  private unavailable(why: string): AppError {
    this.options.log.warn(`WeChat Pay: ${why}`);
    return new AppError('WECHAT_PAY_UNAVAILABLE', {}, {}, 5);
  }
}

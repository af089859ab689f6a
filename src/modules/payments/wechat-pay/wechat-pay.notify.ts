import type { KeyObject } from 'node:crypto';
import type { FastifyBaseLogger } from 'fastify';
import type { Clock } from '#core/clock.ts';
import { AppError } from '#core/errors.ts';
import type { PaymentSink } from '../payment-provider.ts';
import { checkSignature, decryptResource, readSignatureHeaders, type EncryptedResource } from './wechat-pay.crypto.ts';
import { EvidenceRejected, readRefund, readTransaction, type Merchant } from './wechat-pay.evidence.ts';

/**
 * A WeChat Pay notification (payment or refund), from raw bytes to a change of the order, in the
 * order that keeps money safe: signature over the raw body with the WeChat Pay public key (probes,
 * another key, a timestamp 5 minutes away: refused), then AEAD_AES_256_GCM decryption with the APIv3
 * key, then the content (our mchid and appid, the order number, the money), and only then the
 * orders module, which fulfils or reverses once. The answer follows the protocol: 204 when done
 * (or when there is nothing to do), 4xx/5xx with `{code: 'FAIL', message}` when WeChat Pay should
 * send it again.
 */
export interface NotifyAnswer {
  status: number;
  body?: { code: 'FAIL'; message: string };
}

export interface NotificationKeys extends Merchant {
  publicKeyId: string;
  publicKey: KeyObject;
  apiV3Key: Buffer;
}

const fail = (status: number, message: string): NotifyAnswer => ({ status, body: { code: 'FAIL', message } });

export class WeChatPayNotifications {
  constructor(
    private readonly keys: NotificationKeys,
    private readonly sink: PaymentSink,
    private readonly clock: Clock,
    private readonly log: FastifyBaseLogger,
  ) {}

  async handle(headers: Record<string, string | string[] | undefined>, rawBody: Buffer): Promise<NotifyAnswer> {
    const failure = checkSignature(
      { keyId: this.keys.publicKeyId, publicKey: this.keys.publicKey },
      readSignatureHeaders(headers),
      rawBody,
      this.clock.now(),
    );
    if (failure) {
      // Probes are WeChat checking that we verify: expected, not an alarm.
      if (failure === 'probe') this.log.info('WeChat Pay signature probe refused');
      else this.log.warn({ reason: failure }, 'WeChat Pay notification refused: its signature did not verify');
      return fail(401, failure === 'stale' ? '时间戳过期' : '签名验证失败');
    }
    let envelope: { id?: unknown; event_type?: unknown; resource?: EncryptedResource };
    let plain: Record<string, unknown>;
    try {
      envelope = JSON.parse(rawBody.toString('utf8')) as typeof envelope;
      if (!envelope.resource || typeof envelope.resource !== 'object') throw new Error('no resource');
      plain = JSON.parse(decryptResource(this.keys.apiV3Key, envelope.resource)) as Record<string, unknown>;
      if (typeof plain !== 'object' || plain === null) throw new Error('the resource is not an object');
    } catch (error) {
      // Signed by WeChat Pay yet unreadable: the APIv3 key is wrong (an operator must act).
      this.log.error({ err: error }, 'WeChat Pay notification could not be decrypted; check WECHAT_PAY_API_V3_KEY');
      return fail(400, '解密失败');
    }
    const eventId = typeof envelope.id === 'string' ? envelope.id : null;
    const eventType = typeof envelope.event_type === 'string' ? envelope.event_type : '';
    try {
      if (eventType.startsWith('TRANSACTION.')) return await this.payment(plain, eventId);
      if (eventType.startsWith('REFUND.')) return await this.refund(plain, eventId);
      this.log.warn({ eventType, eventId }, 'WeChat Pay notification of an unknown kind: acknowledged, nothing done');
      return { status: 204 };
    } catch (error) {
      return this.failed(error, eventId, eventType);
    }
  }

  private async payment(plain: Record<string, unknown>, eventId: string | null): Promise<NotifyAnswer> {
    const view = readTransaction(plain, this.keys, 'notification', this.clock.now());
    if (view.kind !== 'paid') {
      // WeChat notifies successes only; anything else is left to the reconcile job's query.
      this.log.warn(
        { eventId, tradeState: view.tradeState },
        'WeChat Pay notified an unpaid transaction: nothing done',
      );
      return { status: 204 };
    }
    const result = await this.sink.confirmPaid(view.evidence, eventId);
    this.log.info({ eventId, orderNo: view.evidence.orderNo, result }, 'WeChat Pay payment notification');
    return { status: 204 };
  }

  private async refund(plain: Record<string, unknown>, eventId: string | null): Promise<NotifyAnswer> {
    const evidence = readRefund(plain, this.keys, 'notification');
    if (plain.refund_status === 'ABNORMAL')
      this.log.error(
        { eventId, refundNo: evidence.refundNo },
        'WeChat Pay could not pay a refund out (ABNORMAL): settle it on the merchant platform',
      );
    const result = await this.sink.confirmRefund(evidence, eventId);
    this.log.info({ eventId, refundNo: evidence.refundNo, result }, 'WeChat Pay refund notification');
    return { status: 204 };
  }

  /** Nothing was written: WeChat Pay is told to try again (and an operator, when it cannot get better by itself). */
  private failed(error: unknown, eventId: string | null, eventType: string): NotifyAnswer {
    if (error instanceof EvidenceRejected) {
      this.log.error({ err: error, eventId, eventType }, 'WeChat Pay notification about something that is not ours');
      return fail(400, '商户信息不符');
    }
    if (error instanceof AppError) {
      this.log.error({ err: error, eventId, eventType, code: error.code }, 'WeChat Pay notification not applied');
      return fail(error.status >= 500 ? 500 : error.status, error.message);
    }
    this.log.error({ err: error, eventId, eventType }, 'WeChat Pay notification failed');
    return fail(500, '处理失败');
  }
}

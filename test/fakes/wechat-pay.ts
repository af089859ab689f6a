import { generateKeyPairSync, randomBytes, randomInt, verify, type KeyObject } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import {
  chinaTime,
  encryptResource,
  nonce,
  PROBE_PREFIX,
  requestMessage,
  rsaSign,
} from '#modules/payments/wechat-pay/wechat-pay.crypto.ts';
import {
  prepayProblem,
  refundView,
  transactionView,
  type FakeRefund,
  type FakeTransaction,
} from './wechat-pay-records.ts';

export type { FakeRefund, FakeTransaction } from './wechat-pay-records.ts';

/**
 * A stand-in for api.mch.weixin.qq.com on 127.0.0.1, speaking WeChat Pay API v3 as
 * shared/reference (protocols.md §2, payments-storage-console.md §1) gives it, with its own keys made
 * at start: the merchant's RSA-2048 pair (the private half is Tollgate's `WECHAT_PAY_PRIVATE_KEY`; the
 * fake checks every request's `WECHATPAY2-SHA256-RSA2048` signature with the public half and answers
 * `401 SIGN_ERROR` otherwise), the WeChat Pay ("platform") RSA-2048 pair with its `PUB_KEY_ID_…` that
 * signs every answer and notification, and a 32-character APIv3 key that encrypts notification
 * resources (AEAD_AES_256_GCM).
 *
 * APIs: JSAPI and Native prepay, query by out_trade_no, close (204, even for an unknown order), refund
 * (PROCESSING at first; `settleRefund` ends it) and refund query, with WeChat's error shapes
 * `{code, message}`. A payer pays with `pay(orderNo)`, which returns the notification WeChat sends;
 * `notify` decides when it goes: `'immediately'` (default), `'never'`, or kept in `held` for the test
 * to send late, twice or out of order with `send`. `redeliver()` sends every notification not yet
 * answered 2xx again (WeChat's retry schedule, stepped by the test). `deliverVia` sends notifications
 * somewhere other than their notify_url over HTTP (an `app.inject`). `probeNotifications` /
 * `probeAnswers` sign with a `WECHATPAY/SIGNTEST/` probe; `payDuringPrepay` pays an order and delivers
 * its notification before the prepay answer leaves.
 */
export interface FakeNotification {
  url: string;
  headers: Record<string, string>;
  body: string;
  /** The HTTP statuses Tollgate answered this notification with, in order. */
  answers: number[];
}

export type Deliver = (n: FakeNotification) => Promise<{ status: number; body: string }>;

export interface SignOptions {
  /** Sign with this key instead of the fake's WeChat Pay key (a notification signed with another key). */
  key?: KeyObject;
  /** A `WECHATPAY/SIGNTEST/` probe instead of a signature. */
  probe?: boolean;
  /** Seconds added to the fake's clock for the timestamp (a stale notification). */
  skewSeconds?: number;
}

type Api = 'prepay' | 'query' | 'close' | 'refund' | 'refundQuery';

const pem = (key: KeyObject, type: 'pkcs8' | 'spki') => key.export({ format: 'pem', type }) as string;

export class FakeWeChatPay {
  readonly mchid = String(1_900_000_000 + randomInt(99_999_999));
  readonly appid = `wx${randomBytes(8).toString('hex')}`;
  readonly apiV3Key = randomBytes(16).toString('hex');
  readonly merchantSerial = randomBytes(20).toString('hex').toUpperCase();
  readonly publicKeyId = `PUB_KEY_ID_${String(randomInt(1e9)).padStart(10, '0')}${String(randomInt(1e9)).padStart(22, '0')}`;
  readonly merchant = generateKeyPairSync('rsa', { modulusLength: 2048 });
  readonly platform = generateKeyPairSync('rsa', { modulusLength: 2048 });
  readonly transactions = new Map<string, FakeTransaction>();
  readonly refunds = new Map<string, FakeRefund>();
  /** Every notification made, in order; `held` those not sent yet (notify = 'held'). */
  readonly notifications: FakeNotification[] = [];
  readonly held: FakeNotification[] = [];
  /** Requests received per API, and those refused for their signature. */
  readonly calls: Record<Api, number> = { prepay: 0, query: 0, close: 0, refund: 0, refundQuery: 0 };
  readonly signErrors: string[] = [];
  notify: 'immediately' | 'never' | 'held' = 'immediately';
  probeNotifications = false;
  probeAnswers = false;
  /** Sign answers with another key (a forged answer). */
  forgeAnswers = false;
  payDuringPrepay = false;
  /** Seconds added to the timestamps of answers (a stale answer). */
  answerSkewSeconds = 0;
  now: () => number = () => Date.now();
  deliverVia: Deliver = async (n) => {
    const res = await request(n.url, { method: 'POST', headers: n.headers, body: n.body });
    return { status: res.statusCode, body: await res.body.text() };
  };
  private readonly failures = new Map<Api, { status: number; code: string }[]>();
  private readonly otherKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;

  private constructor(
    private readonly server: Server,
    readonly baseUrl: string,
  ) {}

  static async start(): Promise<FakeWeChatPay> {
    const holder: { fake?: FakeWeChatPay } = {};
    const server = createServer((req, res) => void holder.fake!.handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    holder.fake = new FakeWeChatPay(server, `http://127.0.0.1:${port}`);
    return holder.fake;
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.closeAllConnections();
      this.server.close(() => resolve());
    });
  }

  /** Tollgate's WECHAT_PAY_* for this merchant. */
  env(notifyUrl: string): Record<string, string> {
    return {
      WECHAT_PAY_MCH_ID: this.mchid,
      WECHAT_PAY_APPID: this.appid,
      WECHAT_PAY_SERIAL: this.merchantSerial,
      WECHAT_PAY_PRIVATE_KEY: pem(this.merchant.privateKey, 'pkcs8'),
      WECHAT_PAY_API_V3_KEY: this.apiV3Key,
      WECHAT_PAY_PUBLIC_KEY: pem(this.platform.publicKey, 'spki'),
      WECHAT_PAY_PUBLIC_KEY_ID: this.publicKeyId,
      WECHAT_PAY_NOTIFY_URL: notifyUrl,
      WECHAT_PAY_BASE_URL: this.baseUrl,
    };
  }

  /** The next `times` calls of one API are answered with this error. */
  failNext(api: Api, status: number, code: string, times = 1): void {
    const list = this.failures.get(api) ?? [];
    for (let i = 0; i < times; i += 1) list.push({ status, code });
    this.failures.set(api, list);
  }

  /** The payer pays: the order becomes SUCCESS and WeChat's notification is made (and sent, per `notify`). */
  async pay(outTradeNo: string, openid = `o${randomBytes(14).toString('base64url')}`): Promise<FakeNotification> {
    const tx = this.transactions.get(outTradeNo);
    if (!tx) throw new Error(`the fake has no order ${outTradeNo}`);
    if (tx.state !== 'NOTPAY') throw new Error(`order ${outTradeNo} is ${tx.state}`);
    tx.state = 'SUCCESS';
    tx.transactionId = `4200${Date.now()}${randomInt(1e9)}`.slice(0, 28);
    tx.successTime = chinaTime(this.now());
    tx.openid ??= openid;
    const notification = this.notification(tx.notifyUrl, 'TRANSACTION.SUCCESS', 'transaction', this.transactionOf(tx));
    await this.dispatch(notification);
    return notification;
  }

  /** A refund ends (WeChat: usually SUCCESS within minutes); its notification is made and sent per `notify`. */
  async settleRefund(
    outRefundNo: string,
    status: 'SUCCESS' | 'CLOSED' | 'ABNORMAL' = 'SUCCESS',
  ): Promise<FakeNotification> {
    const refund = this.refunds.get(outRefundNo);
    if (!refund) throw new Error(`the fake has no refund ${outRefundNo}`);
    refund.status = status;
    if (status === 'SUCCESS') refund.successTime = chinaTime(this.now());
    const notification = this.notification(refund.notifyUrl, `REFUND.${status}`, 'refund', {
      mchid: this.mchid,
      out_trade_no: refund.outTradeNo,
      transaction_id: refund.transactionId,
      out_refund_no: refund.outRefundNo,
      refund_id: refund.refundId,
      refund_status: status,
      ...(refund.successTime ? { success_time: refund.successTime } : {}),
      user_received_account: '支付用户零钱',
      amount: { total: refund.total, refund: refund.refund, payer_total: refund.total, payer_refund: refund.refund },
    });
    await this.dispatch(notification);
    return notification;
  }

  /** A notification as WeChat makes one: the plaintext encrypted under the APIv3 key, the envelope signed. */
  notification(
    url: string,
    eventType: string,
    originalType: 'transaction' | 'refund',
    plaintext: Record<string, unknown>,
    options: SignOptions = {},
  ): FakeNotification {
    const resourceNonce = randomBytes(6).toString('hex');
    const body = JSON.stringify({
      id: `EV-${randomBytes(10).toString('hex')}`,
      create_time: chinaTime(this.now()),
      resource_type: 'encrypt-resource',
      event_type: eventType,
      summary: originalType === 'transaction' ? '支付成功' : '退款状态变更',
      resource: {
        original_type: originalType,
        algorithm: 'AEAD_AES_256_GCM',
        ciphertext: encryptResource(Buffer.from(this.apiV3Key), JSON.stringify(plaintext), originalType, resourceNonce),
        associated_data: originalType,
        nonce: resourceNonce,
      },
    });
    const headers = {
      ...this.signedHeaders(body, { probe: this.probeNotifications, ...options }),
      'content-type': 'application/json',
      'wechatpay-signature-type': 'WECHATPAY2-SHA256-RSA2048',
    };
    return { url, headers, body, answers: [] };
  }

  /** Any body, signed as WeChat signs notifications (a test's own envelope: bad ciphertext, odd fields). */
  signed(url: string, body: string, options: SignOptions = {}): FakeNotification {
    const headers = {
      ...this.signedHeaders(body, options),
      'content-type': 'application/json',
      'wechatpay-signature-type': 'WECHATPAY2-SHA256-RSA2048',
    };
    return { url, headers, body, answers: [] };
  }

  /** Sends one notification now (again, late, out of order: as the test likes); resolves with Tollgate's answer. */
  async send(n: FakeNotification): Promise<{ status: number; body: string }> {
    const answer = await this.deliverVia(n);
    n.answers.push(answer.status);
    return answer;
  }

  /** WeChat's retry: every notification never answered 2xx is sent again (held ones stay held). */
  async redeliver(): Promise<void> {
    for (const n of this.notifications)
      if (!this.held.includes(n) && !n.answers.some((status) => status >= 200 && status < 300)) await this.send(n);
  }

  /** The transaction as query and notification show it. */
  transactionOf(tx: FakeTransaction): Record<string, unknown> {
    return transactionView(tx);
  }

  private async dispatch(n: FakeNotification): Promise<void> {
    this.notifications.push(n);
    if (this.notify === 'held') this.held.push(n);
    else if (this.notify === 'immediately') await this.send(n);
  }

  private signedHeaders(body: string, options: SignOptions): Record<string, string> {
    const timestamp = String(Math.floor(this.now() / 1000) + (options.skewSeconds ?? 0));
    const nonceStr = nonce();
    const signature = options.probe
      ? `${PROBE_PREFIX}${randomBytes(64).toString('base64')}`
      : rsaSign(options.key ?? this.platform.privateKey, `${timestamp}\n${nonceStr}\n${body}\n`);
    return {
      'wechatpay-timestamp': timestamp,
      'wechatpay-nonce': nonceStr,
      'wechatpay-signature': signature,
      'wechatpay-serial': this.publicKeyId,
      'request-id': randomBytes(16).toString('hex'),
    };
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const path = req.url ?? '/';
    const answer = (status: number, body?: unknown) => {
      const text = body === undefined ? '' : JSON.stringify(body);
      const headers = this.signedHeaders(text, {
        probe: this.probeAnswers,
        skewSeconds: this.answerSkewSeconds,
        ...(this.forgeAnswers ? { key: this.otherKey } : {}),
      });
      res.writeHead(status, { ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) });
      res.end(text);
    };
    // WeChat Pay requires a User-Agent and JSON: a client that sends neither is refused before anything else.
    if (!req.headers['user-agent'] || !String(req.headers.accept ?? '').includes('application/json'))
      return answer(400, { code: 'INVALID_REQUEST', message: '缺少 User-Agent 或 Accept: application/json' });
    const refusal = this.checkAuthorization(req.method ?? 'GET', path, req.headers.authorization, raw);
    if (refusal) {
      this.signErrors.push(refusal);
      return answer(401, { code: 'SIGN_ERROR', message: `签名错误：${refusal}` });
    }
    const route = this.route(req.method ?? 'GET', path);
    if (!route) return answer(404, { code: 'NOT_FOUND', message: '接口不存在' });
    this.calls[route.api] += 1;
    const failure = this.failures.get(route.api)?.shift();
    if (failure) return answer(failure.status, { code: failure.code, message: `模拟错误 ${failure.code}` });
    let body: Record<string, unknown> = {};
    if (raw) {
      try {
        body = JSON.parse(raw) as Record<string, unknown>;
      } catch {
        return answer(400, { code: 'PARAM_ERROR', message: '请求体不是JSON' });
      }
    }
    const result = await route.run(body);
    answer(result.status, result.body);
  }

  /** Why a request's Authorization does not hold (null when it does). */
  private checkAuthorization(method: string, path: string, header: string | undefined, body: string): string | null {
    const match = /^WECHATPAY2-SHA256-RSA2048 (.+)$/.exec(header ?? '');
    if (!match) return 'no WECHATPAY2-SHA256-RSA2048 Authorization';
    const fields = Object.fromEntries([...match[1]!.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1]!, m[2]!]));
    if (fields.mchid !== this.mchid) return `mchid ${fields.mchid}`;
    if (fields.serial_no !== this.merchantSerial) return `serial_no ${fields.serial_no}`;
    if (!fields.nonce_str || !fields.signature || !/^\d+$/.test(fields.timestamp ?? '')) return 'fields missing';
    if (Math.abs(Number(fields.timestamp) - this.now() / 1000) > 300) return 'timestamp expired';
    const message = requestMessage(method, path, Number(fields.timestamp), fields.nonce_str, body);
    const ok = verify('sha256', Buffer.from(message), this.merchant.publicKey, Buffer.from(fields.signature, 'base64'));
    return ok ? null : 'signature does not verify';
  }

  private route(
    method: string,
    path: string,
  ): { api: Api; run: (body: Record<string, unknown>) => Promise<{ status: number; body?: unknown }> } | null {
    const url = new URL(path, 'http://fake');
    const parts = url.pathname.split('/').map(decodeURIComponent);
    if (
      method === 'POST' &&
      (url.pathname === '/v3/pay/transactions/jsapi' || url.pathname === '/v3/pay/transactions/native')
    )
      return { api: 'prepay', run: (body) => this.prepay(url.pathname.endsWith('jsapi') ? 'JSAPI' : 'NATIVE', body) };
    if (method === 'GET' && parts.length === 6 && parts[4] === 'out-trade-no' && parts[3] === 'transactions')
      return { api: 'query', run: () => Promise.resolve(this.query(parts[5]!, url.searchParams.get('mchid'))) };
    if (method === 'POST' && parts.length === 7 && parts[4] === 'out-trade-no' && parts[6] === 'close')
      return { api: 'close', run: (body) => Promise.resolve(this.closeOrder(parts[5]!, body)) };
    if (method === 'POST' && url.pathname === '/v3/refund/domestic/refunds')
      return { api: 'refund', run: (body) => Promise.resolve(this.refund(body)) };
    if (method === 'GET' && parts.length === 6 && url.pathname.startsWith('/v3/refund/domestic/refunds/'))
      return { api: 'refundQuery', run: () => Promise.resolve(this.refundQuery(parts[5]!)) };
    return null;
  }

  private async prepay(tradeType: 'JSAPI' | 'NATIVE', body: Record<string, unknown>) {
    const amount = (body.amount ?? {}) as Record<string, unknown>;
    const payer = (body.payer ?? {}) as Record<string, unknown>;
    const outTradeNo = body.out_trade_no;
    if (body.mchid !== this.mchid) return { status: 400, body: { code: 'MCH_NOT_EXISTS', message: '商户号不存在' } };
    if (body.appid !== this.appid)
      return { status: 400, body: { code: 'APPID_MCHID_NOT_MATCH', message: 'appid和mch_id不匹配' } };
    const problem = prepayProblem(tradeType, body);
    if (problem)
      return {
        status: 400,
        body: { code: 'PARAM_ERROR', message: `参数错误：${problem}`, detail: { field: problem } },
      };
    const signature = JSON.stringify({ ...body, notify_url: undefined });
    let tx = this.transactions.get(outTradeNo as string);
    if (tx && tx.signature !== signature)
      return { status: 403, body: { code: 'OUT_TRADE_NO_USED', message: '商户订单号重复' } };
    if (tx && tx.state === 'CLOSED') return { status: 400, body: { code: 'ORDER_CLOSED', message: '订单已关闭' } };
    if (tx && tx.state !== 'NOTPAY') return { status: 400, body: { code: 'ORDERPAID', message: '该订单已支付' } };
    tx ??= {
      appid: this.appid,
      mchid: this.mchid,
      description: body.description as string,
      outTradeNo: outTradeNo as string,
      notifyUrl: body.notify_url as string,
      total: amount.total as number,
      currency: 'CNY',
      tradeType,
      openid: tradeType === 'JSAPI' ? (payer.openid as string) : undefined,
      timeExpire: typeof body.time_expire === 'string' ? body.time_expire : undefined,
      state: 'NOTPAY',
      transactionId: undefined,
      successTime: undefined,
      prepayId: undefined,
      codeUrl: undefined,
      signature,
    };
    this.transactions.set(tx.outTradeNo, tx);
    // A second prepay with the same parameters gives a new prepay_id / code_url (the old QR stops working).
    tx.prepayId = `wx${Date.now()}${randomBytes(8).toString('hex')}`.slice(0, 36);
    tx.codeUrl = `weixin://wxpay/bizpayurl?pr=${randomBytes(6).toString('base64url')}`;
    if (this.payDuringPrepay) await this.pay(tx.outTradeNo);
    return { status: 200, body: tradeType === 'JSAPI' ? { prepay_id: tx.prepayId } : { code_url: tx.codeUrl } };
  }

  private query(outTradeNo: string, mchid: string | null) {
    const tx = this.transactions.get(outTradeNo);
    if (mchid !== this.mchid) return { status: 400, body: { code: 'MCH_NOT_EXISTS', message: '商户号不存在' } };
    if (!tx) return { status: 404, body: { code: 'ORDER_NOT_EXIST', message: '订单不存在' } };
    return { status: 200, body: this.transactionOf(tx) };
  }

  private closeOrder(outTradeNo: string, body: Record<string, unknown>) {
    if (body.mchid !== this.mchid) return { status: 400, body: { code: 'MCH_NOT_EXISTS', message: '商户号不存在' } };
    const tx = this.transactions.get(outTradeNo);
    // Like WeChat: 204 for an unknown order too; a paid order stays paid.
    if (tx && tx.state === 'NOTPAY') tx.state = 'CLOSED';
    return { status: 204 };
  }

  private refund(body: Record<string, unknown>) {
    const amount = (body.amount ?? {}) as Record<string, unknown>;
    const outRefundNo = body.out_refund_no;
    if (typeof outRefundNo !== 'string' || !/^[0-9A-Za-z_\-|*@]{1,64}$/.test(outRefundNo))
      return { status: 400, body: { code: 'PARAM_ERROR', message: '参数错误：out_refund_no' } };
    const existing = this.refunds.get(outRefundNo);
    if (existing) return { status: 200, body: refundView(existing) };
    const tx =
      typeof body.out_trade_no === 'string'
        ? this.transactions.get(body.out_trade_no)
        : [...this.transactions.values()].find((t) => t.transactionId === body.transaction_id);
    if (!tx) return { status: 404, body: { code: 'RESOURCE_NOT_EXISTS', message: '订单不存在' } };
    if (tx.state !== 'SUCCESS' && tx.state !== 'REFUND')
      return { status: 400, body: { code: 'INVALID_REQUEST', message: '订单未支付，不能退款' } };
    if (amount.total !== tx.total)
      return { status: 400, body: { code: 'PARAM_ERROR', message: '订单金额与原订单不符' } };
    const refunded = [...this.refunds.values()]
      .filter((r) => r.outTradeNo === tx.outTradeNo && r.status !== 'CLOSED')
      .reduce((sum, r) => sum + r.refund, 0);
    if (typeof amount.refund !== 'number' || !Number.isInteger(amount.refund) || amount.refund <= 0)
      return { status: 400, body: { code: 'PARAM_ERROR', message: '参数错误：amount.refund' } };
    if (refunded + amount.refund > tx.total)
      return { status: 400, body: { code: 'INVALID_REQUEST', message: '申请退款金额超过订单可退金额' } };
    const refund: FakeRefund = {
      outRefundNo,
      refundId: `50${Date.now()}${randomInt(1e9)}`.slice(0, 29),
      outTradeNo: tx.outTradeNo,
      transactionId: tx.transactionId!,
      refund: amount.refund,
      total: tx.total,
      status: 'PROCESSING',
      notifyUrl: typeof body.notify_url === 'string' ? body.notify_url : tx.notifyUrl,
      createTime: chinaTime(this.now()),
      successTime: undefined,
    };
    this.refunds.set(outRefundNo, refund);
    tx.state = 'REFUND';
    return { status: 200, body: refundView(refund) };
  }

  private refundQuery(outRefundNo: string) {
    const refund = this.refunds.get(outRefundNo);
    if (!refund) return { status: 404, body: { code: 'RESOURCE_NOT_EXISTS', message: '退款单不存在' } };
    return { status: 200, body: refundView(refund) };
  }
}

import { generateKeyPairSync, verify } from 'node:crypto';
import pino from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AppError } from '#core/errors.ts';
import { loadConfig, type Config } from '#core/config.ts';
import type { PaymentEvidence, PaymentSink, ProviderName, RefundEvidence } from '#modules/payments/payment-provider.ts';
import { createWeChatPay, createWeChatPayNotifications } from '#modules/payments/wechat-pay/wechat-pay.factory.ts';
import type { WeChatPay } from '#modules/payments/wechat-pay/wechat-pay.provider.ts';
import type { WeChatPayNotifications } from '#modules/payments/wechat-pay/wechat-pay.notify.ts';
import { FakeWeChatPay } from '#test/fakes/wechat-pay.ts';
import { ManualClock } from '#test/helpers/clock.ts';
import { TEST_SECRETS } from '#test/helpers/test-app.ts';
import { tmpdir } from 'node:os';

/**
 * Tollgate's WeChat Pay client against the fake, on its own (no orders): requests signed so the fake
 * accepts them, answers believed only when their signature verifies, and notifications verified and
 * decrypted before anything reaches the sink (a recording PaymentSink here).
 */
class RecordingSink implements PaymentSink {
  paid: { evidence: PaymentEvidence; eventId: string | null }[] = [];
  refunds: RefundEvidence[] = [];
  closed: string[] = [];
  failWith: Error | undefined;
  confirmPaid(evidence: PaymentEvidence, eventId: string | null) {
    if (this.failWith) return Promise.reject(this.failWith);
    this.paid.push({ evidence, eventId });
    return Promise.resolve('fulfilled' as const);
  }
  confirmRefund(evidence: RefundEvidence) {
    if (this.failWith) return Promise.reject(this.failWith);
    this.refunds.push(evidence);
    return Promise.resolve('applied' as const);
  }
  confirmClosed(provider: ProviderName, orderNo: string) {
    this.closed.push(`${provider}:${orderNo}`);
    return Promise.resolve('closed' as const);
  }
}

const NOTIFY_URL = 'https://pay.example.com/v1/orders/payment-callback';
const log = pino({ level: 'silent' });

describe('WeChat Pay client and notifications (against the fake)', () => {
  let fake: FakeWeChatPay;
  let config: Config;
  let clock: ManualClock;
  let pay: WeChatPay;
  let notifications: WeChatPayNotifications;
  let sink: RecordingSink;
  let n = 0;
  const orderNo = () => `T${Date.now()}${(n += 1)}`;

  beforeAll(async () => {
    fake = await FakeWeChatPay.start();
    config = loadConfig({ ...TEST_SECRETS, DATA_DIR: tmpdir(), NODE_ENV: 'test', ...fake.env(NOTIFY_URL) });
  });
  afterAll(() => fake.close());
  beforeEach(() => {
    clock = new ManualClock();
    fake.now = () => clock.now();
    fake.notify = 'held';
    fake.probeAnswers = false;
    fake.forgeAnswers = false;
    fake.answerSkewSeconds = 0;
    sink = new RecordingSink();
    pay = createWeChatPay(config, { clock, logger: log })!;
    notifications = createWeChatPayNotifications(config, sink, { clock, logger: log })!;
  });

  const order = (no: string, extra: Partial<Parameters<WeChatPay['createCheckout']>[0]> = {}) => ({
    orderNo: no,
    amount: 1990,
    currency: 'CNY',
    description: 'VIP 月卡',
    payerOpenid: 'oPayer0001',
    expiresAt: clock.now() + 30 * 60_000,
    ...extra,
  });
  const deliver = (note: { headers: Record<string, string>; body: string }) =>
    notifications.handle(note.headers, Buffer.from(note.body));

  it('JSAPI: a signed prepay with the payer, time_expire in China time, and wx.requestPayment parameters signed with the merchant key', async () => {
    const no = orderNo();
    const result = await pay.createCheckout(order(no), 'wechat_jsapi');
    const tx = fake.transactions.get(no)!;
    expect(tx).toMatchObject({ total: 1990, openid: 'oPayer0001', tradeType: 'JSAPI', notifyUrl: NOTIFY_URL });
    expect(tx.timeExpire).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+08:00$/);
    expect(Date.parse(tx.timeExpire!)).toBe(Math.floor((clock.now() + 30 * 60_000) / 1000) * 1000);
    expect(result.providerRef).toBe(tx.prepayId);
    if (result.checkout.channel !== 'wechat_jsapi') throw new Error('not JSAPI');
    const p = result.checkout.payment;
    expect(p).toMatchObject({ appId: fake.appid, package: `prepay_id=${tx.prepayId}`, signType: 'RSA' });
    expect(p.timeStamp).toBe(String(Math.floor(clock.now() / 1000)));
    expect(p.nonceStr).toMatch(/^[0-9a-zA-Z]{32}$/);
    const message = `${p.appId}\n${p.timeStamp}\n${p.nonceStr}\n${p.package}\n`;
    expect(verify('sha256', Buffer.from(message), fake.merchant.publicKey, Buffer.from(p.paySign, 'base64'))).toBe(
      true,
    );
    await expect(
      pay.createCheckout(order(orderNo(), { payerOpenid: undefined }), 'wechat_jsapi'),
    ).rejects.toMatchObject({
      code: 'WECHAT_PAY_OPENID_REQUIRED',
    });
  });

  it('Native: a code_url; query tells pending, paid (with what was paid) and not found; close ends an unpaid order', async () => {
    const no = orderNo();
    const result = await pay.createCheckout(order(no, { payerOpenid: undefined }), 'wechat_native');
    expect(result.checkout).toEqual({ channel: 'wechat_native', codeUrl: fake.transactions.get(no)!.codeUrl });
    expect(await pay.query(no)).toEqual({ state: 'pending' });
    await fake.pay(no);
    const paid = await pay.query(no);
    expect(paid).toMatchObject({
      state: 'paid',
      evidence: { provider: 'wechat', orderNo: no, amount: 1990, currency: 'CNY', via: 'query' },
    });
    expect(await pay.query('NEVER_MADE_1')).toEqual({ state: 'not_found' });
    const other = orderNo();
    await pay.createCheckout(order(other), 'wechat_jsapi');
    await pay.close(other);
    expect(await pay.query(other)).toEqual({ state: 'closed' });
  });

  it('believes no answer that fails verification: forged, a probe, or stale; errors become domain errors', async () => {
    const no = orderNo();
    await pay.createCheckout(order(no), 'wechat_jsapi');
    await fake.pay(no);
    fake.forgeAnswers = true;
    await expect(pay.query(no)).rejects.toMatchObject({ code: 'WECHAT_PAY_UNAVAILABLE' });
    fake.forgeAnswers = false;
    fake.probeAnswers = true;
    await expect(pay.query(no)).rejects.toMatchObject({ code: 'WECHAT_PAY_UNAVAILABLE' });
    fake.probeAnswers = false;
    fake.answerSkewSeconds = -300; // an answer signed 5 minutes ago (replayed)
    await expect(pay.query(no)).rejects.toMatchObject({ code: 'WECHAT_PAY_UNAVAILABLE' });
    fake.answerSkewSeconds = 0;
    fake.failNext('prepay', 500, 'SYSTEM_ERROR');
    await expect(pay.createCheckout(order(orderNo()), 'wechat_jsapi')).rejects.toMatchObject({
      code: 'WECHAT_PAY_UNAVAILABLE',
      status: 503,
    });
    fake.failNext('prepay', 403, 'NO_AUTH');
    const refused = await pay.createCheckout(order(orderNo()), 'wechat_jsapi').catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(AppError);
    expect(refused).toMatchObject({ code: 'WECHAT_PAY_REFUSED', extra: { wechat_code: 'NO_AUTH' } });
  });

  it('a notification is verified and decrypted before the sink hears of it', async () => {
    const no = orderNo();
    await pay.createCheckout(order(no), 'wechat_jsapi');
    const note = await fake.pay(no);
    expect(sink.paid).toEqual([]);
    expect(await deliver(note)).toEqual({ status: 204 });
    expect(sink.paid).toHaveLength(1);
    expect(sink.paid[0]!.evidence).toMatchObject({ orderNo: no, amount: 1990, currency: 'CNY', via: 'notification' });
    expect(sink.paid[0]!.eventId).toBe((JSON.parse(note.body) as { id: string }).id);
  });

  it('refuses a forged body, another key, a probe, a stale timestamp, another key id and a bad ciphertext, with FAIL and nothing passed on', async () => {
    const no = orderNo();
    await pay.createCheckout(order(no), 'wechat_jsapi');
    const good = await fake.pay(no);
    const tx = fake.transactionOf(fake.transactions.get(no)!);
    const forgedBody = { ...good, body: good.body.replace('TRANSACTION.SUCCESS', 'TRANSACTION.SUCCESS ') };
    const otherKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    const cases = [
      forgedBody,
      fake.notification(NOTIFY_URL, 'TRANSACTION.SUCCESS', 'transaction', tx, { key: otherKey }),
      fake.notification(NOTIFY_URL, 'TRANSACTION.SUCCESS', 'transaction', tx, { probe: true }),
      fake.notification(NOTIFY_URL, 'TRANSACTION.SUCCESS', 'transaction', tx, { skewSeconds: -300 }),
      fake.notification(NOTIFY_URL, 'TRANSACTION.SUCCESS', 'transaction', tx, { skewSeconds: 301 }),
      { ...good, headers: { ...good.headers, 'wechatpay-serial': 'PUB_KEY_ID_0000000000000000000000000000000' } },
      { ...good, headers: { ...good.headers, 'wechatpay-signature': '' } },
    ];
    for (const note of cases) {
      const answer = await deliver(note);
      expect(answer.status).toBe(401);
      expect(answer.body).toEqual({ code: 'FAIL', message: expect.any(String) });
    }
    // Signed correctly, but the ciphertext does not authenticate (another APIv3 key, or altered): 400, not applied.
    const sealed = fake.notification(NOTIFY_URL, 'TRANSACTION.SUCCESS', 'transaction', tx);
    const env = JSON.parse(sealed.body) as { resource: { ciphertext: string; associated_data: string } };
    const bytes = Buffer.from(env.resource.ciphertext, 'base64');
    bytes[0] = bytes[0]! ^ 1;
    const flipped = { ...env, resource: { ...env.resource, ciphertext: bytes.toString('base64') } };
    expect(await deliver(fake.signed(NOTIFY_URL, JSON.stringify(flipped)))).toMatchObject({
      status: 400,
      body: { code: 'FAIL' },
    });
    const otherAad = { ...env, resource: { ...env.resource, associated_data: 'refund' } };
    expect((await deliver(fake.signed(NOTIFY_URL, JSON.stringify(otherAad)))).status).toBe(400);
    expect((await deliver(fake.signed(NOTIFY_URL, JSON.stringify(env)))).status).toBe(204); // the same, untouched
    sink.paid = [];
    expect(sink.paid).toEqual([]);
    // Within 5 minutes is fine.
    const late = fake.notification(NOTIFY_URL, 'TRANSACTION.SUCCESS', 'transaction', tx, { skewSeconds: -299 });
    expect((await deliver(late)).status).toBe(204);
    expect(sink.paid).toHaveLength(1);
  });

  it('refuses a transaction of another merchant or appid, passes on an unknown order and a mismatch for the orders module to refuse, and 5xx when it fails', async () => {
    const no = orderNo();
    await pay.createCheckout(order(no), 'wechat_jsapi');
    await fake.pay(no);
    const tx = fake.transactionOf(fake.transactions.get(no)!);
    const otherMch = fake.notification(NOTIFY_URL, 'TRANSACTION.SUCCESS', 'transaction', {
      ...tx,
      mchid: '1900000001',
    });
    expect(await deliver(otherMch)).toMatchObject({ status: 400, body: { code: 'FAIL' } });
    const otherApp = fake.notification(NOTIFY_URL, 'TRANSACTION.SUCCESS', 'transaction', { ...tx, appid: 'wx0' });
    expect((await deliver(otherApp)).status).toBe(400);
    expect(sink.paid).toEqual([]);
    sink.failWith = new AppError('NOT_FOUND');
    expect(await deliver(fake.notification(NOTIFY_URL, 'TRANSACTION.SUCCESS', 'transaction', tx))).toMatchObject({
      status: 404,
      body: { code: 'FAIL' },
    });
    sink.failWith = new Error('database down');
    expect((await deliver(fake.notification(NOTIFY_URL, 'TRANSACTION.SUCCESS', 'transaction', tx))).status).toBe(500);
    sink.failWith = undefined;
    const notPaid = fake.notification(NOTIFY_URL, 'TRANSACTION.SUCCESS', 'transaction', {
      ...tx,
      trade_state: 'NOTPAY',
    });
    expect(await deliver(notPaid)).toEqual({ status: 204 });
    expect(sink.paid).toEqual([]);
  });

  it('refunds: the answer is PROCESSING (pending), the notification says SUCCESS; a retry with the same refund number refunds once', async () => {
    const no = orderNo();
    await pay.createCheckout(order(no), 'wechat_jsapi');
    await fake.pay(no);
    const txId = fake.transactions.get(no)!.transactionId!;
    const request = {
      orderNo: no,
      refundNo: `${no}R1`,
      transactionId: txId,
      total: 1990,
      amount: 500,
      currency: 'CNY',
      reason: '用户申请',
    };
    const first = await pay.refund(request);
    expect(first).toMatchObject({ state: 'pending', amount: 500, refundNo: `${no}R1`, via: 'answer' });
    expect((await pay.refund(request)).providerRefundId).toBe(first.providerRefundId);
    expect(fake.refunds.size).toBeGreaterThan(0);
    expect([...fake.refunds.values()].filter((r) => r.outTradeNo === no)).toHaveLength(1);
    const note = await fake.settleRefund(`${no}R1`);
    expect(await deliver(note)).toEqual({ status: 204 });
    expect(sink.refunds).toEqual([expect.objectContaining({ state: 'succeeded', amount: 500, via: 'notification' })]);
    expect(await pay.queryRefund(`${no}R1`)).toMatchObject({ state: 'succeeded', via: 'query' });
    expect(await pay.queryRefund('NOPE')).toBeNull();
    // ABNORMAL (the money could not reach the payer's card) is not final: passed on as pending.
    const second = await pay.refund({ ...request, refundNo: `${no}R3`, amount: 100 });
    expect(second.state).toBe('pending');
    await deliver(await fake.settleRefund(`${no}R3`, 'ABNORMAL'));
    expect(sink.refunds.at(-1)).toMatchObject({ refundNo: `${no}R3`, state: 'pending' });
    await deliver(await fake.settleRefund(`${no}R3`, 'CLOSED'));
    expect(sink.refunds.at(-1)).toMatchObject({ refundNo: `${no}R3`, state: 'failed' });
    await expect(pay.refund({ ...request, refundNo: `${no}R2`, amount: 1491 })).rejects.toMatchObject({
      code: 'WECHAT_PAY_REFUND_REFUSED',
    });
  });
});

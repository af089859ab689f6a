import { createDecipheriv, sign, verify } from 'node:crypto';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeWeChatPay, type FakeNotification } from './wechat-pay.ts';

/**
 * The fake speaks WeChat Pay API v3 to any client that signs as the protocol says: the requests here
 * are signed by hand with node:crypto (not with Tollgate's code), and its answers and notifications
 * are checked by hand too.
 */
describe('the fake WeChat Pay server', () => {
  let fake: FakeWeChatPay;
  beforeAll(async () => {
    fake = await FakeWeChatPay.start();
  });
  afterAll(() => fake.close());

  const call = async (method: 'GET' | 'POST', path: string, json?: unknown, tamper?: (auth: string) => string) => {
    const body = json === undefined ? '' : JSON.stringify(json);
    const ts = Math.floor(Date.now() / 1000);
    const nonceStr = 'n'.repeat(32);
    const signature = sign(
      'sha256',
      Buffer.from(`${method}\n${path}\n${ts}\n${nonceStr}\n${body}\n`),
      fake.merchant.privateKey,
    ).toString('base64');
    let auth = `WECHATPAY2-SHA256-RSA2048 mchid="${fake.mchid}",nonce_str="${nonceStr}",timestamp="${ts}",serial_no="${fake.merchantSerial}",signature="${signature}"`;
    if (tamper) auth = tamper(auth);
    const res = await request(`${fake.baseUrl}${path}`, {
      method,
      headers: {
        authorization: auth,
        'content-type': 'application/json',
        accept: 'application/json',
        'user-agent': 'fake-test',
      },
      body: json === undefined ? undefined : body,
    });
    const text = await res.body.text();
    const h = res.headers as Record<string, string>;
    const signed = verify(
      'sha256',
      Buffer.from(`${h['wechatpay-timestamp']}\n${h['wechatpay-nonce']}\n${text}\n`),
      fake.platform.publicKey,
      Buffer.from(h['wechatpay-signature']!, 'base64'),
    );
    return {
      status: res.statusCode,
      body: text ? (JSON.parse(text) as Record<string, unknown>) : undefined,
      signed,
      serial: h['wechatpay-serial'],
    };
  };
  const prepayBody = (no: string, extra: Record<string, unknown> = {}) => ({
    appid: fake.appid,
    mchid: fake.mchid,
    description: 'VIP 月卡',
    out_trade_no: no,
    notify_url: 'https://example.com/v1/orders/payment-callback',
    amount: { total: 990, currency: 'CNY' },
    payer: { openid: 'oUser1' },
    ...extra,
  });

  it('checks request signatures: a tampered signature, another merchant or a changed body is 401 SIGN_ERROR; answers are signed with its key id', async () => {
    const ok = await call('POST', '/v3/pay/transactions/jsapi', prepayBody('SIGN000001'));
    expect(ok).toMatchObject({ status: 200, signed: true, serial: fake.publicKeyId });
    expect(ok.body).toEqual({ prepay_id: expect.stringMatching(/^wx/) });
    const forged = await call('POST', '/v3/pay/transactions/jsapi', prepayBody('SIGN000002'), (a) =>
      a.replace(/signature="[^"]{8}/, 'signature="AAAAAAAA'),
    );
    expect(forged).toMatchObject({ status: 401, body: { code: 'SIGN_ERROR' }, signed: true });
    const other = await call(
      'GET',
      `/v3/pay/transactions/out-trade-no/SIGN000001?mchid=${fake.mchid}`,
      undefined,
      (a) => a.replace(`mchid="${fake.mchid}"`, 'mchid="1234567890"'),
    );
    expect(other.status).toBe(401);
    expect(fake.transactions.has('SIGN000002')).toBe(false);
    const noAgent = await request(`${fake.baseUrl}/v3/pay/transactions/out-trade-no/SIGN000001?mchid=${fake.mchid}`, {
      headers: { accept: 'application/json' },
    });
    expect(noAgent.statusCode).toBe(400);
    expect(await noAgent.body.json()).toMatchObject({ code: 'INVALID_REQUEST' });
  });

  it('prepays JSAPI and Native, refuses bad parameters and a reused out_trade_no, queries and closes', async () => {
    expect(
      (await call('POST', '/v3/pay/transactions/native', { ...prepayBody('NATIVE0001'), payer: undefined })).body,
    ).toEqual({
      code_url: expect.stringMatching(/^weixin:\/\/wxpay\/bizpayurl\?pr=/),
    });
    expect((await call('POST', '/v3/pay/transactions/jsapi', prepayBody('BAD1', {}))).body).toMatchObject({
      code: 'PARAM_ERROR',
    });
    expect((await call('POST', '/v3/pay/transactions/jsapi', prepayBody('NOOPENID01', { payer: {} }))).status).toBe(
      400,
    );
    expect(
      (await call('POST', '/v3/pay/transactions/jsapi', prepayBody('APPID00001', { appid: 'wxother' }))).body,
    ).toMatchObject({
      code: 'APPID_MCHID_NOT_MATCH',
    });
    await call('POST', '/v3/pay/transactions/jsapi', prepayBody('REUSED0001'));
    const reused = await call('POST', '/v3/pay/transactions/jsapi', prepayBody('REUSED0001', { amount: { total: 1 } }));
    expect(reused).toMatchObject({ status: 403, body: { code: 'OUT_TRADE_NO_USED' } });
    const q = await call('GET', `/v3/pay/transactions/out-trade-no/REUSED0001?mchid=${fake.mchid}`);
    expect(q.body).toMatchObject({ trade_state: 'NOTPAY', amount: { total: 990 }, out_trade_no: 'REUSED0001' });
    expect(q.body).not.toHaveProperty('transaction_id');
    const missing = await call('GET', `/v3/pay/transactions/out-trade-no/NEVER00001?mchid=${fake.mchid}`);
    expect(missing).toMatchObject({ status: 404, body: { code: 'ORDER_NOT_EXIST' } });
    const closed = await call('POST', '/v3/pay/transactions/out-trade-no/REUSED0001/close', { mchid: fake.mchid });
    expect(closed).toMatchObject({ status: 204, body: undefined, signed: true });
    expect(
      (await call('POST', '/v3/pay/transactions/out-trade-no/NEVER00001/close', { mchid: fake.mchid })).status,
    ).toBe(204);
    expect((await call('GET', `/v3/pay/transactions/out-trade-no/REUSED0001?mchid=${fake.mchid}`)).body).toMatchObject({
      trade_state: 'CLOSED',
    });
  });

  it('notifies a payment signed and encrypted as WeChat does; held notifications go when sent; refunds whole and in parts', async () => {
    const seen: FakeNotification[] = [];
    fake.deliverVia = (n) => {
      seen.push(n);
      return Promise.resolve({ status: 204, body: '' });
    };
    await call('POST', '/v3/pay/transactions/jsapi', prepayBody('PAID000001'));
    const n = await fake.pay('PAID000001');
    expect(seen).toEqual([n]);
    expect(n.answers).toEqual([204]);
    const h = n.headers;
    expect(h['wechatpay-serial']).toBe(fake.publicKeyId);
    expect(h['wechatpay-signature-type']).toBe('WECHATPAY2-SHA256-RSA2048');
    expect(
      verify(
        'sha256',
        Buffer.from(`${h['wechatpay-timestamp']}\n${h['wechatpay-nonce']}\n${n.body}\n`),
        fake.platform.publicKey,
        Buffer.from(h['wechatpay-signature']!, 'base64'),
      ),
    ).toBe(true);
    const envelope = JSON.parse(n.body) as { event_type: string; resource: Record<string, string> };
    expect(envelope.event_type).toBe('TRANSACTION.SUCCESS');
    const data = Buffer.from(envelope.resource.ciphertext!, 'base64');
    const d = createDecipheriv('aes-256-gcm', Buffer.from(fake.apiV3Key), Buffer.from(envelope.resource.nonce!));
    d.setAuthTag(data.subarray(-16));
    d.setAAD(Buffer.from(envelope.resource.associated_data!));
    const tx = JSON.parse(Buffer.concat([d.update(data.subarray(0, -16)), d.final()]).toString()) as Record<
      string,
      unknown
    >;
    expect(tx).toMatchObject({
      mchid: fake.mchid,
      appid: fake.appid,
      out_trade_no: 'PAID000001',
      trade_state: 'SUCCESS',
      amount: { total: 990, currency: 'CNY' },
    });
    expect(envelope.resource.nonce).toHaveLength(12);

    const tooMuch = await call('POST', '/v3/refund/domestic/refunds', {
      out_trade_no: 'PAID000001',
      out_refund_no: 'R-1',
      amount: { refund: 991, total: 990, currency: 'CNY' },
    });
    expect(tooMuch).toMatchObject({ status: 400, body: { code: 'INVALID_REQUEST' } });
    const part = await call('POST', '/v3/refund/domestic/refunds', {
      out_trade_no: 'PAID000001',
      out_refund_no: 'R-1',
      amount: { refund: 300, total: 990, currency: 'CNY' },
    });
    expect(part.body).toMatchObject({ status: 'PROCESSING', out_refund_no: 'R-1', amount: { refund: 300 } });
    const again = await call('POST', '/v3/refund/domestic/refunds', {
      out_trade_no: 'PAID000001',
      out_refund_no: 'R-1',
      amount: { refund: 300, total: 990, currency: 'CNY' },
    });
    expect(again.body).toMatchObject({ refund_id: part.body!.refund_id });
    fake.notify = 'held';
    const refundNote = await fake.settleRefund('R-1');
    expect(fake.held).toEqual([refundNote]);
    expect(refundNote.answers).toEqual([]);
    await fake.send(refundNote);
    expect(refundNote.answers).toEqual([204]);
    expect((await call('GET', '/v3/refund/domestic/refunds/R-1')).body).toMatchObject({ status: 'SUCCESS' });
    expect((await call('GET', '/v3/refund/domestic/refunds/R-9')).status).toBe(404);
    expect((await call('GET', `/v3/pay/transactions/out-trade-no/PAID000001?mchid=${fake.mchid}`)).body).toMatchObject({
      trade_state: 'REFUND',
    });
    fake.notify = 'immediately';
  });

  it('redelivers what was not acknowledged, probes on demand, and fails on demand', async () => {
    let status = 500;
    fake.deliverVia = () => Promise.resolve({ status, body: '' });
    await call('POST', '/v3/pay/transactions/native', { ...prepayBody('RETRY00001'), payer: undefined });
    const n = await fake.pay('RETRY00001');
    expect(n.answers).toEqual([500]);
    status = 204;
    await fake.redeliver();
    await fake.redeliver();
    expect(n.answers).toEqual([500, 204]);
    fake.probeNotifications = true;
    const probe = fake.notification('https://x/notify', 'TRANSACTION.SUCCESS', 'transaction', {});
    expect(probe.headers['wechatpay-signature']).toMatch(/^WECHATPAY\/SIGNTEST\//);
    fake.probeNotifications = false;
    fake.failNext('query', 500, 'SYSTEM_ERROR');
    expect((await call('GET', `/v3/pay/transactions/out-trade-no/RETRY00001?mchid=${fake.mchid}`)).body).toMatchObject({
      code: 'SYSTEM_ERROR',
    });
    expect((await call('GET', `/v3/pay/transactions/out-trade-no/RETRY00001?mchid=${fake.mchid}`)).status).toBe(200);
  });
});

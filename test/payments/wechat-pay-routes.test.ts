import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends, createTestApp, registerUser, type TestApp } from '#test/helpers/test-app.ts';
import { NOTIFY_URL, recharge, startPayApp, type PayTestApp } from './wechat-pay-helpers.ts';

/** The notification routes as HTTP: WeChat Pay's answer shape on every path, whatever goes wrong. */
describe('WeChat Pay notification routes', () => {
  let off: TestApp;
  let w: PayTestApp;
  beforeAll(async () => {
    [off, w] = await Promise.all([createTestApp(), startPayApp(backends()[0]!)]);
  });
  afterAll(async () => {
    await off?.close();
    await w?.close();
  });

  const post = (app: TestApp['app'], url: string, payload: string | Buffer, headers: Record<string, string> = {}) =>
    app.inject({ method: 'POST', url, payload, headers: { 'content-type': 'application/json', ...headers } });

  it('with WeChat Pay off, the notification paths are not served: 404, which WeChat Pay retries', async () => {
    for (const url of ['/v1/vip/payment-callback', '/v1/orders/payment-callback', '/api/payments/wechat/notify']) {
      const res = await post(off.app, url, '{}');
      expect(res.statusCode).toBe(404);
      expect(res.json()).toMatchObject({ success: false, statusCode: 404, code: 'ROUTE_NOT_FOUND' });
    }
  });

  it('no signature headers, a body that is not JSON, an empty body, a huge body: FAIL, never the envelope', async () => {
    expect((await post(w.t.app, '/v1/orders/payment-callback', '{"id":"x"}')).json()).toMatchObject({ code: 'FAIL' });
    // JSON nested 100,000 levels deep is read as bytes, never parsed: refused by its (missing) signature.
    const deep = await post(w.t.app, '/v1/orders/payment-callback', '['.repeat(100_000) + ']'.repeat(100_000));
    expect(deep.statusCode).toBe(401);
    expect(deep.json()).toMatchObject({ success: false, statusCode: 401, code: 'FAIL' });
    const notJson = await post(w.t.app, '/v1/orders/payment-callback', 'not json', { 'content-type': 'text/plain' });
    expect(notJson.statusCode).toBe(401);
    expect(notJson.json()).toMatchObject({ code: 'FAIL' });
    const empty = await w.t.app.inject({ method: 'POST', url: '/v1/orders/payment-callback' });
    expect(empty.statusCode).toBe(401);
    const huge = await post(w.t.app, '/v1/orders/payment-callback', Buffer.alloc(w.t.config.BODY_LIMIT + 1, 0x20));
    expect(huge.statusCode).toBe(413);
    expect(huge.json()).toMatchObject({ code: 'FAIL' });
  });

  it('a genuine notification sent as application/json; charset=utf-8, with the body bytes untouched, is applied', async () => {
    const user = await registerUser(w.t);
    const { order } = await recharge(w.t.app, user.accessToken, 'small');
    w.pay.notify = 'never';
    const note = await w.pay.pay(order.orderNo);
    const res = await post(w.t.app, new URL(NOTIFY_URL).pathname, note.body, {
      ...note.headers,
      'content-type': 'application/json; charset=utf-8',
    });
    expect(res.statusCode).toBe(204);
    expect(res.body).toBe('');
    expect((await w.t.app.services.orders.find(order.orderNo))!.status).toBe('fulfilled');
  });
});

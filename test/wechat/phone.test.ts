import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends, call } from '#test/helpers/test-app.ts';
import { startWeChatApp, wechatLogin, type WeChatTestApp } from './helpers.ts';

describe.each(backends())('the phone number of a WeChat user on $label', (backend) => {
  let w: WeChatTestApp;
  beforeAll(async () => {
    w = await startWeChatApp(backend);
  });
  afterAll(() => w.close());

  const phone = (token: string, code: string) => call(w.t.app, 'POST', '/v1/auth/phone', { token, body: { code } });

  it('takes the number from a getPhoneNumber code, keeps it on the account, and asks WeChat for a token once', async () => {
    const { accessToken } = await wechatLogin(w);
    const tokensBefore = w.fake.tokensIssued.length;
    const res = await phone(accessToken, w.fake.phoneCode('+8613800000000'));
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({
      success: true,
      data: {
        phoneNumber: '+8613800000000',
        purePhoneNumber: '13800000000',
        countryCode: '86',
        user: { phone: '+8613800000000' },
      },
    });
    const info = await call(w.t.app, 'GET', '/v1/auth/userinfo', { token: accessToken });
    expect(info.json()).toMatchObject({ data: { phone: '+8613800000000' } });
    expect((await phone(accessToken, w.fake.phoneCode('+8613900000000'))).statusCode).toBe(200);
    expect(w.fake.tokensIssued.length - tokensBefore).toBeLessThanOrEqual(1);
  });

  it('refreshes a token WeChat rejects (40001) once and retries the same code', async () => {
    const { accessToken } = await wechatLogin(w);
    expect((await phone(accessToken, w.fake.phoneCode())).statusCode).toBe(200);
    const issued = w.fake.tokensIssued.length;
    w.fake.expireAccessToken();
    const res = await phone(accessToken, w.fake.phoneCode('+12025550123'));
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ data: { phoneNumber: '+12025550123', countryCode: '1' } });
    expect(w.fake.tokensIssued.length).toBe(issued + 1);
  });

  it('answers a used or unknown code with 400, WeChat busy with 503 and Retry-After, and keeps the phone as it was', async () => {
    const { accessToken } = await wechatLogin(w);
    const code = w.fake.phoneCode('+8613700000000');
    expect((await phone(accessToken, code)).statusCode).toBe(200);
    const reused = await phone(accessToken, code);
    expect(reused.statusCode).toBe(400);
    expect(reused.json()).toMatchObject({ success: false, statusCode: 400 });
    w.fake.failNext('phone', -1);
    const busy = await phone(accessToken, w.fake.phoneCode('+8613600000000'));
    expect(busy.statusCode).toBe(503);
    expect(busy.headers['retry-after']).toBe('2');
    w.fake.expireAccessToken();
    w.fake.failNext('token', -1);
    expect((await phone(accessToken, w.fake.phoneCode('+8613600000000'))).statusCode).toBe(503);
    const info = await call(w.t.app, 'GET', '/v1/auth/userinfo', { token: accessToken });
    expect(info.json()).toMatchObject({ data: { phone: '+8613700000000' } });
  });

  it('needs a signed-in user', async () => {
    const res = await call(w.t.app, 'POST', '/v1/auth/phone', { body: { code: w.fake.phoneCode() } });
    expect(res.statusCode).toBe(401);
  });
});

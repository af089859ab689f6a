import type { App } from '#core/http/route-config.ts';
import { FakeWeChat } from '#test/fakes/wechat.ts';
import { FakeWeChatPay, type Deliver, type FakeNotification } from '#test/fakes/wechat-pay.ts';
import { ADMIN_ENV, call, createTestApp, freshIp, type Backend, type TestApp } from '#test/helpers/test-app.ts';

/** Where Tollgate tells WeChat Pay to notify (the notification itself is injected into an instance). */
export const NOTIFY_URL = 'https://tollgate.example.com/v1/orders/payment-callback';

/** Sends WeChat Pay's notifications into `app` (the path of their URL, their headers, their exact bytes). */
export function injectInto(app: () => App): Deliver {
  return async (n: FakeNotification) => {
    const res = await app().inject({
      method: 'POST',
      url: new URL(n.url).pathname,
      headers: n.headers,
      payload: n.body,
    });
    return { status: res.statusCode, body: res.body };
  };
}

/** The environment that points Tollgate at the fake WeChat Pay (and the fake WeChat sign-in for JSAPI payers). */
export function payEnv(pay: FakeWeChatPay, wechat: FakeWeChat): Record<string, string> {
  return {
    ...pay.env(NOTIFY_URL),
    WECHAT_APPID: wechat.appid,
    WECHAT_SECRET: wechat.secret,
    WECHAT_API_BASE_URL: wechat.baseUrl,
    // The mini-program pays under the appid bound to the merchant.
    WECHAT_PAY_APPID: pay.appid,
  };
}

export interface PayTestApp {
  t: TestApp;
  pay: FakeWeChatPay;
  wechat: FakeWeChat;
  close(): Promise<void>;
}

export async function startPayApp(backend: Backend): Promise<PayTestApp> {
  const [pay, wechat] = await Promise.all([FakeWeChatPay.start(), FakeWeChat.start()]);
  const t = await createTestApp(backend, { env: { ...payEnv(pay, wechat), ...ADMIN_ENV } });
  pay.now = () => t.clock.now();
  pay.deliverVia = injectInto(() => t.app);
  return {
    t,
    pay,
    wechat,
    async close() {
      await t.close();
      await Promise.all([pay.close(), wechat.close()]);
    },
  };
}

/** A mini-program user: signed in with WeChat (so Tollgate knows the openid). */
export async function miniProgramUser(app: App, wechat: FakeWeChat): Promise<{ token: string; openid: string }> {
  const user = FakeWeChat.newUser();
  const res = await call(app, 'POST', '/v1/auth/wechat-login', { body: { code: wechat.login(user) }, ip: freshIp() });
  if (res.statusCode !== 200) throw new Error(`wechat-login: ${res.statusCode} ${res.body}`);
  return { token: res.json<{ data: { accessToken: string } }>().data.accessToken, openid: user.openid };
}

export interface CreatedOrderAnswer {
  order: { id: string; orderNo: string; amount: number; status: string; credits: number };
  checkout: {
    channel: string;
    codeUrl?: string;
    payment?: {
      appId: string;
      timeStamp: string;
      nonceStr: string;
      package: string;
      signType: string;
      paySign: string;
    };
  };
}

export async function recharge(app: App, token: string, packId = 'medium'): Promise<CreatedOrderAnswer> {
  const res = await call(app, 'POST', '/v1/points/recharge', {
    token,
    body: { packId, channel: 'wechat_native' },
  });
  if (res.statusCode !== 200) throw new Error(`recharge: ${res.statusCode} ${res.body}`);
  return res.json<{ data: CreatedOrderAnswer }>().data;
}

import { expect } from 'vitest';
import { FakeWeChat, type WeChatUser } from '#test/fakes/wechat.ts';
import { call, createTestApp, freshIp, type Backend, type TestApp } from '#test/helpers/test-app.ts';

/** The environment that points Tollgate at the fake WeChat. */
export function wechatEnv(fake: FakeWeChat, extra: Record<string, string> = {}): Record<string, string> {
  return {
    WECHAT_APPID: fake.appid,
    WECHAT_SECRET: fake.secret,
    WECHAT_API_BASE_URL: fake.baseUrl,
    WECHAT_TIMEOUT: '1',
    ...extra,
  };
}

export interface WeChatTestApp {
  t: TestApp;
  fake: FakeWeChat;
  close(): Promise<void>;
}

export async function startWeChatApp(backend: Backend, env: Record<string, string> = {}): Promise<WeChatTestApp> {
  const fake = await FakeWeChat.start();
  const t = await createTestApp(backend, { env: wechatEnv(fake, env) });
  return {
    t,
    fake,
    async close() {
      await t.close();
      await fake.close();
    },
  };
}

export interface LoginAnswer {
  accessToken: string;
  refreshToken: string;
  expiresIn: number;
  tokenType: 'Bearer';
  isNewUser: boolean;
  user: { id: string; nickname: string | null; email: string | null; wechatLinked: boolean; hasPassword: boolean };
}

/** Signs `user` (a new WeChat user by default) in as the mini-program does: wx.login(), then the code to Tollgate. */
export async function wechatLogin(
  w: WeChatTestApp,
  user: WeChatUser = FakeWeChat.newUser(),
  options: { ip?: string; body?: Record<string, unknown> } = {},
): Promise<LoginAnswer & { openid: string }> {
  const res = await call(w.t.app, 'POST', '/v1/auth/wechat-login', {
    body: { code: w.fake.login(user), ...options.body },
    ip: options.ip ?? freshIp(),
  });
  expect(res.statusCode, res.body).toBe(200);
  const body = res.json<{ success: true; data: LoginAnswer }>();
  expect(body.success).toBe(true);
  return { ...body.data, openid: user.openid };
}

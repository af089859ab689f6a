import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  backends,
  call,
  createTestApp,
  freshIp,
  registerUser,
  type RegisteredUser,
  type TestApp,
} from '#test/helpers/test-app.ts';

interface SetCookie {
  name: string;
  value: string;
  path?: string;
  httpOnly?: boolean;
  sameSite?: string;
  maxAge?: number;
  expires?: Date;
}

function cookiesOf(res: LightMyRequestResponse): Record<string, SetCookie> {
  return Object.fromEntries((res.cookies as SetCookie[]).map((c) => [c.name, c]));
}

describe.each(backends())('console cookie session on $label', (backend) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(backend);
  });
  afterAll(() => t.close());

  /** Signs in and returns the two cookies the browser would keep. */
  async function cookieSignIn(user: RegisteredUser) {
    const res = await call(t.app, 'POST', '/api/auth/login', {
      body: { email: user.email, password: user.password },
      ip: freshIp(),
    });
    expect(res.statusCode).toBe(200);
    const cookies = cookiesOf(res);
    return { res, access: cookies.tg_access!, refresh: cookies.tg_refresh! };
  }

  const withCookie = (name: string, value: string, headers: Record<string, string> = {}) => ({
    headers: { cookie: `${name}=${value}`, ...headers },
  });

  it('sets HttpOnly, SameSite=Strict cookies carrying the same session as the JSON answer', async () => {
    const user = await registerUser(t);
    const { res, access, refresh } = await cookieSignIn(user);
    expect(access).toMatchObject({
      value: res.json().access_token,
      path: '/',
      httpOnly: true,
      sameSite: 'Strict',
      maxAge: t.config.ACCESS_TOKEN_TTL,
    });
    expect(refresh).toMatchObject({
      value: res.json().refresh_token,
      path: '/api/auth',
      httpOnly: true,
      sameSite: 'Strict',
    });
  });

  it('reads the profile with only the cookie', async () => {
    const user = await registerUser(t);
    const { access } = await cookieSignIn(user);
    const res = await call(t.app, 'GET', '/api/user/profile', withCookie('tg_access', access.value));
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ id: user.id, email: user.email });
  });

  it('refuses a cookie-only logout without X-Requested-With (403) and keeps the session; with it, signs out', async () => {
    const user = await registerUser(t);
    const { access } = await cookieSignIn(user);

    const forged = await call(t.app, 'POST', '/api/auth/logout', withCookie('tg_access', access.value));
    expect(forged.statusCode).toBe(403);
    expect(forged.json()).toMatchObject({
      success: false,
      statusCode: 403,
      error: 'Forbidden',
      message: '使用 Cookie 登录时修改类请求必须携带 X-Requested-With 请求头',
    });
    expect((await call(t.app, 'GET', '/api/user/profile', withCookie('tg_access', access.value))).statusCode).toBe(200);

    const real = await call(
      t.app,
      'POST',
      '/api/auth/logout',
      withCookie('tg_access', access.value, { 'x-requested-with': 'XMLHttpRequest' }),
    );
    expect(real.statusCode).toBe(200);
    const cleared = cookiesOf(real);
    expect(cleared.tg_access?.value).toBe('');
    expect(cleared.tg_refresh?.value).toBe('');
    expect((await call(t.app, 'GET', '/api/user/profile', withCookie('tg_access', access.value))).statusCode).toBe(401);
  });

  it('refreshes with the refresh cookie alone and sends new cookies; the old cookie is spent', async () => {
    const user = await registerUser(t);
    const { refresh } = await cookieSignIn(user);

    const res = await call(t.app, 'POST', '/api/auth/refresh', withCookie('tg_refresh', refresh.value));
    expect(res.statusCode).toBe(200);
    const renewed = cookiesOf(res);
    expect(renewed.tg_refresh!.value).toBe(res.json().refresh_token);
    expect(renewed.tg_refresh!.value).not.toBe(refresh.value);
    expect(
      (await call(t.app, 'GET', '/api/user/profile', withCookie('tg_access', renewed.tg_access!.value))).statusCode,
    ).toBe(200);

    t.clock.advance(t.config.REFRESH_TOKEN_GRACE * 1000); // past the grace window of parallel refreshes
    const replay = await call(t.app, 'POST', '/api/auth/refresh', withCookie('tg_refresh', refresh.value));
    expect(replay.statusCode).toBe(401);
  });

  it('two tabs refreshing with the same cookie at once both stay signed in, with the same new cookies', async () => {
    const user = await registerUser(t);
    const { refresh } = await cookieSignIn(user);
    const tabs = await Promise.all(
      [1, 2].map(() => call(t.app, 'POST', '/api/auth/refresh', withCookie('tg_refresh', refresh.value))),
    );
    expect(tabs.map((res) => res.statusCode)).toEqual([200, 200]);
    const [first, second] = tabs.map(cookiesOf) as [Record<string, SetCookie>, Record<string, SetCookie>];
    expect(second.tg_refresh!.value).toBe(first.tg_refresh!.value);
    for (const cookies of [first, second]) {
      expect(
        (await call(t.app, 'GET', '/api/user/profile', withCookie('tg_access', cookies.tg_access!.value))).statusCode,
      ).toBe(200);
    }
    expect(
      (await call(t.app, 'POST', '/api/auth/refresh', withCookie('tg_refresh', first.tg_refresh!.value))).statusCode,
    ).toBe(200);
  });

  it('lets a bearer token win over a cookie', async () => {
    const user = await registerUser(t);
    const { access } = await cookieSignIn(user);
    const res = await call(t.app, 'GET', '/api/user/profile', {
      token: 'garbage',
      ...withCookie('tg_access', access.value),
    });
    expect(res.statusCode).toBe(401);
  });
});

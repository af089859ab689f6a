import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  backends,
  call,
  createTestApp,
  freshIp,
  registerUser,
  TEST_SECRETS,
  type RegisteredUser,
  type TestApp,
} from '#test/helpers/test-app.ts';

const UNAUTHORIZED = '未登录或登录已过期';
const REFRESH_INVALID = '刷新令牌无效或已过期，请重新登录';

interface Session {
  accessToken: string;
  refreshToken: string;
}

describe.each(backends())('sessions on $label', (backend) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(backend);
  });
  afterAll(() => t.close());

  async function signIn(user: RegisteredUser): Promise<Session> {
    const res = await call(t.app, 'POST', '/api/auth/login', {
      body: { email: user.email, password: user.password },
      ip: freshIp(),
    });
    expect(res.statusCode).toBe(200);
    return { accessToken: res.json().access_token, refreshToken: res.json().refresh_token };
  }

  const profile = (token: string) => call(t.app, 'GET', '/api/user/profile', { token });
  const refresh = (refreshToken: string) =>
    call(t.app, 'POST', '/api/auth/refresh', { body: { refresh_token: refreshToken } });

  async function expectUnauthorized(token: string) {
    const res = await profile(token);
    expect(res.statusCode).toBe(401);
    expect(res.json()).toMatchObject({
      success: false,
      statusCode: 401,
      error: 'Unauthorized',
      message: UNAUTHORIZED,
      path: '/api/user/profile',
    });
  }

  async function expectRefreshRefused(refreshToken: string) {
    const res = await refresh(refreshToken);
    expect(res.statusCode).toBe(401);
    expect(res.json()).toMatchObject({
      success: false,
      statusCode: 401,
      message: REFRESH_INVALID,
      path: '/api/auth/refresh',
    });
  }

  const sessionsOf = (userId: string) =>
    t.app.services.database.db
      .selectFrom('sessions')
      .select(['id', 'revoked_at', 'revoke_reason'])
      .where('user_id', '=', userId)
      .execute();

  it('rotates the refresh token: the new pair works, the old refresh token does not', async () => {
    const user = await registerUser(t);
    const first = await refresh(user.refreshToken);
    expect(first.statusCode).toBe(200);
    const body = first.json();
    expect(body).toMatchObject({ token_type: 'Bearer', user: { id: user.id, email: user.email } });
    expect(body.refresh_token).not.toBe(user.refreshToken);
    expect((await profile(body.access_token)).statusCode).toBe(200);

    // The chain keeps going with the newest token.
    const second = await refresh(body.refresh_token);
    expect(second.statusCode).toBe(200);
    expect((await profile(second.json().access_token)).statusCode).toBe(200);
  });

  it('revokes the whole family when a rotated refresh token is presented again', async () => {
    const user = await registerUser(t);
    const otherDevice = await signIn(user);
    const rotated = (await refresh(user.refreshToken)).json();

    t.clock.advance(t.config.REFRESH_TOKEN_GRACE * 1000); // past the grace window of parallel refreshes
    await expectRefreshRefused(user.refreshToken);
    await expectUnauthorized(rotated.access_token);
    await expectRefreshRefused(rotated.refresh_token);

    // Only that family ends: the same user's other session lives on.
    expect((await profile(otherDevice.accessToken)).statusCode).toBe(200);
    const rows = await sessionsOf(user.id);
    expect(rows.filter((r) => r.revoked_at !== null).map((r) => r.revoke_reason)).toEqual(['refresh_reuse']);
    expect(rows.filter((r) => r.revoked_at === null)).toHaveLength(1);
  });

  it('gives ten parallel refreshes of one token the same new pair, and the session lives on', async () => {
    const user = await registerUser(t);
    const answers = await Promise.all(Array.from({ length: 10 }, () => refresh(user.refreshToken)));
    expect(answers.map((res) => res.statusCode)).toEqual(Array(10).fill(200));
    const successors = new Set(answers.map((res) => res.json<{ refresh_token: string }>().refresh_token));
    expect(successors.size).toBe(1);
    for (const res of answers) expect((await profile(res.json().access_token)).statusCode).toBe(200);
    const [successor] = [...successors];
    expect((await refresh(successor!)).statusCode).toBe(200);
    expect((await sessionsOf(user.id)).map((r) => r.revoked_at)).toEqual([null]);
  });

  it('answers a rotated token with the same successor within REFRESH_TOKEN_GRACE; later, ends the session', async () => {
    const user = await registerUser(t);
    const rotated = (await refresh(user.refreshToken)).json();
    t.clock.advance(t.config.REFRESH_TOKEN_GRACE * 1000 - 1);
    const again = await refresh(user.refreshToken);
    expect(again.statusCode).toBe(200);
    expect(again.json()).toMatchObject({ refresh_token: rotated.refresh_token, user: { id: user.id } });

    t.clock.advance(1);
    await expectRefreshRefused(user.refreshToken);
    await expectRefreshRefused(rotated.refresh_token);
    await expectUnauthorized(again.json().access_token);
    expect((await sessionsOf(user.id)).map((r) => r.revoke_reason)).toEqual(['refresh_reuse']);
  });

  it('ends the session on logout and leaves the user’s other sessions alone', async () => {
    const user = await registerUser(t);
    const other = await signIn(user);
    const res = await call(t.app, 'POST', '/api/auth/logout', { token: user.accessToken });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ message: '已退出登录' });

    await expectUnauthorized(user.accessToken);
    await expectRefreshRefused(user.refreshToken);
    expect((await call(t.app, 'POST', '/api/auth/logout', { token: user.accessToken })).statusCode).toBe(401);
    expect((await profile(other.accessToken)).statusCode).toBe(200);
  });

  it('refuses logout without a session', async () => {
    const res = await call(t.app, 'POST', '/api/auth/logout');
    expect(res.statusCode).toBe(401);
    expect(res.json()).toMatchObject({ success: false, statusCode: 401, message: UNAUTHORIZED });
  });

  it('ends every session of the user when the password is reset', async () => {
    const user = await registerUser(t);
    const sessions = [
      { accessToken: user.accessToken, refreshToken: user.refreshToken },
      await signIn(user),
      await signIn(user),
    ];
    const ip = freshIp();
    t.clock.advance(60_000); // the resend cooldown since the sign-up code
    expect(
      (await call(t.app, 'POST', '/api/auth/send-reset-code', { body: { email: user.email }, ip })).statusCode,
    ).toBe(200);
    const reset = await call(t.app, 'POST', '/api/auth/reset-password', {
      body: { email: user.email, code: t.lastCode(user.email), newPassword: 'N3wPassword' },
      ip,
    });
    expect(reset.statusCode).toBe(200);

    for (const session of sessions) {
      await expectUnauthorized(session.accessToken);
      await expectRefreshRefused(session.refreshToken);
    }
    const rows = await sessionsOf(user.id);
    expect(rows).toHaveLength(3);
    expect(rows.every((r) => r.revoked_at !== null && r.revoke_reason === 'password_reset')).toBe(true);
  });

  it("refuses a disabled account's refresh token (403) and ends that session, for good", async () => {
    const user = await registerUser(t);
    await t.app.services.users.change(user.id, { status: 'disabled' });
    const res = await refresh(user.refreshToken);
    expect(res.statusCode).toBe(403);
    expect(res.json()).toMatchObject({
      success: false,
      statusCode: 403,
      message: '账户已被禁用',
      path: '/api/auth/refresh',
    });
    expect(res.json()).not.toHaveProperty('access_token');
    expect((await sessionsOf(user.id)).map((r) => r.revoke_reason)).toEqual(['account_disabled']);

    // Enabled again, the account signs in afresh: the ended session stays ended.
    await t.app.services.users.change(user.id, { status: 'active' });
    await expectRefreshRefused(user.refreshToken);
    await expectUnauthorized(user.accessToken);
    expect((await profile((await signIn(user)).accessToken)).statusCode).toBe(200);
  });

  it('refuses a refresh without a token, with an unknown token, and with a malformed body', async () => {
    for (const options of [{}, { body: {} }, { body: { refresh_token: 'rt_not-a-real-token' } }]) {
      const res = await call(t.app, 'POST', '/api/auth/refresh', options);
      expect(res.statusCode).toBe(401);
      expect(res.json()).toMatchObject({ success: false, statusCode: 401, message: REFRESH_INVALID });
    }
    for (const body of [{ refresh_token: 42 }, { refresh_token: 'x', extra: true }]) {
      expect((await call(t.app, 'POST', '/api/auth/refresh', { body })).statusCode).toBe(400);
    }
  });

  describe('access tokens that must not work', () => {
    let user: RegisteredUser;
    let sessionId: string;
    beforeAll(async () => {
      user = await registerUser(t);
      const [row] = await sessionsOf(user.id);
      sessionId = row!.id;
    });

    const sign = (secret: string, claims: Record<string, unknown> = {}) =>
      new SignJWT({ sid: sessionId, ...claims })
        .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
        .setSubject(user.id)
        .setIssuer('tollgate')
        .setAudience('tollgate-api')
        .setIssuedAt(Math.floor(t.clock.now() / 1000))
        .setExpirationTime(Math.floor(t.clock.now() / 1000) + 600)
        .sign(new TextEncoder().encode(secret));

    it('accepts a token built the same way with the real secret (the control)', async () => {
      expect((await profile(await sign(TEST_SECRETS.JWT_SECRET))).statusCode).toBe(200);
    });

    it('refuses a token signed with another secret', async () => {
      await expectUnauthorized(await sign('another-secret-that-is-long-enough-0123456789'));
    });

    it('refuses an unsigned token (alg: none)', async () => {
      const encode = (part: object) => Buffer.from(JSON.stringify(part)).toString('base64url');
      const now = Math.floor(t.clock.now() / 1000);
      const payload = { sid: sessionId, sub: user.id, iss: 'tollgate', aud: 'tollgate-api', iat: now, exp: now + 600 };
      await expectUnauthorized(`${encode({ alg: 'none', typ: 'JWT' })}.${encode(payload)}.`);
    });

    it('refuses a real token whose payload was altered', async () => {
      const [header, , signature] = user.accessToken.split('.');
      const forged = Buffer.from(JSON.stringify({ sid: 'someone-else', sub: 'x' })).toString('base64url');
      await expectUnauthorized(`${header}.${forged}.${signature}`);
    });

    it('refuses garbage and malformed Authorization headers', async () => {
      await expectUnauthorized('not-a-token');
      for (const authorization of ['Basic dXNlcjpwYXNz', 'Bearer', `Token ${user.accessToken}`]) {
        const res = await call(t.app, 'GET', '/api/user/profile', { headers: { authorization } });
        expect(res.statusCode).toBe(401);
        expect(res.json().message).toBe(UNAUTHORIZED);
      }
    });

    it('refuses a correctly signed token for another audience or without a session', async () => {
      const wrongAudience = await new SignJWT({ sid: sessionId })
        .setProtectedHeader({ alg: 'HS256' })
        .setIssuer('tollgate')
        .setAudience('someone-else')
        .setExpirationTime('10m')
        .sign(new TextEncoder().encode(TEST_SECRETS.JWT_SECRET));
      await expectUnauthorized(wrongAudience);
      await expectUnauthorized(await sign(TEST_SECRETS.JWT_SECRET, { sid: '00000000-0000-7000-8000-000000000000' }));
      await expectUnauthorized(await sign(TEST_SECRETS.JWT_SECRET, { sid: undefined }));
    });

    it('refuses a token whose session was deleted', async () => {
      const victim = await registerUser(t);
      const [row] = await sessionsOf(victim.id);
      const db = t.app.services.database.db;
      await db.deleteFrom('refresh_tokens').where('session_id', '=', row!.id).execute();
      await db.deleteFrom('sessions').where('id', '=', row!.id).execute();
      await expectUnauthorized(victim.accessToken);
      await expectRefreshRefused(victim.refreshToken);
    });
  });
});

describe.each(backends())('session expiry on $label', (backend) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(backend);
  });
  afterAll(() => t.close());

  it('refuses an access token after ACCESS_TOKEN_TTL; the refresh token still gets a new one', async () => {
    const user = await registerUser(t);
    t.clock.advance((t.config.ACCESS_TOKEN_TTL - 1) * 1000);
    expect((await call(t.app, 'GET', '/api/user/profile', { token: user.accessToken })).statusCode).toBe(200);

    t.clock.advance(2000);
    const expired = await call(t.app, 'GET', '/api/user/profile', { token: user.accessToken });
    expect(expired.statusCode).toBe(401);
    expect(expired.json().message).toBe(UNAUTHORIZED);

    const renewed = await call(t.app, 'POST', '/api/auth/refresh', { body: { refresh_token: user.refreshToken } });
    expect(renewed.statusCode).toBe(200);
    expect((await call(t.app, 'GET', '/api/user/profile', { token: renewed.json().access_token })).statusCode).toBe(
      200,
    );
  });

  it('ends the session REFRESH_TOKEN_TTL after sign-in, however often it was refreshed', async () => {
    const user = await registerUser(t);
    t.clock.advance((t.config.REFRESH_TOKEN_TTL - 60) * 1000);
    const late = await call(t.app, 'POST', '/api/auth/refresh', { body: { refresh_token: user.refreshToken } });
    expect(late.statusCode).toBe(200);

    t.clock.advance(61 * 1000);
    const tooLate = await call(t.app, 'POST', '/api/auth/refresh', {
      body: { refresh_token: late.json().refresh_token },
    });
    expect(tooLate.statusCode).toBe(401);
    expect((await call(t.app, 'GET', '/api/user/profile', { token: late.json().access_token })).statusCode).toBe(401);
  });
});

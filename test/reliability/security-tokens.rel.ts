import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { TEST_SECRETS } from '#test/helpers/test-app.ts';
import { acceptsApiKey, classify } from './fuzz/classify.ts';
import { startFuzzApp, type FuzzApp } from './fuzz/fuzz-app.ts';
import { sendBadInput } from './fuzz/rejection.ts';
import { changedTables, snapshot } from './fuzz/snapshot.ts';
import { fillPath, routesOf, type Access, type RouteOperation } from './fuzz/routes.ts';
import { Tally } from './tally.ts';

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** The claims of a real access token (its session id and user), to forge lookalikes from. */
function claimsOf(token: string): { sid: string; sub: string } {
  return JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { sid: string; sub: string };
}

async function sign(
  claims: Record<string, unknown>,
  options: { secret?: string; alg?: string; iss?: string; aud?: string; iat?: number; exp?: number; nbf?: number } = {},
): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  let jwt = new SignJWT(claims)
    .setProtectedHeader({ alg: options.alg ?? 'HS256', typ: 'JWT' })
    .setIssuer(options.iss ?? 'tollgate')
    .setAudience(options.aud ?? 'tollgate-api')
    .setIssuedAt(options.iat ?? now)
    .setExpirationTime(options.exp ?? now + 3600);
  if (options.nbf !== undefined) jwt = jwt.setNotBefore(options.nbf);
  return jwt.sign(new TextEncoder().encode(options.secret ?? TEST_SECRETS.JWT_SECRET));
}

/**
 * Session tokens nobody was given: forged with another secret, `alg: none` in its spellings,
 * tampered claims, the right secret but the wrong algorithm, issuer, audience or lifetime, a session
 * that does not exist or has ended, and credentials of the wrong kind. Every route that needs a
 * session refuses every one of them with 401 and changes nothing; a rotated refresh token, reused,
 * ends its whole session.
 */
describe('forged, expired and alg:none tokens; refresh token reuse', () => {
  const tally = new Tally('security: tokens');
  let f: FuzzApp;
  let protectedRoutes: Array<RouteOperation & { access: Access; takesKeys: boolean }>;

  beforeAll(async () => {
    f = await startFuzzApp(tally);
    protectedRoutes = [];
    for (const route of await routesOf(f.t.app)) {
      const access = await classify(f, route);
      if (access === 'user' || access === 'admin')
        protectedRoutes.push({ ...route, access, takesKeys: await acceptsApiKey(f, route) });
    }
  });
  afterAll(async () => {
    await f?.close();
    tally.save(inject('tallyDir'));
  });

  const urlOf = (route: RouteOperation) =>
    fillPath(route.path, Object.fromEntries(route.pathParams.map((p) => [p, f.idPool[0]!])));

  /**
   * Every protected route, with the token in the Authorization header and in the console cookie: 401,
   * and no table changed (checked once per token: a snapshot per request would triple the time).
   */
  async function refusedEverywhere(label: string, token: string, options: { isApiKey?: boolean } = {}): Promise<void> {
    const db = f.t.app.services.database.db;
    const before = await snapshot(db);
    for (const route of protectedRoutes) {
      // Routes that take API keys as well as sessions (the Dify surface) rightly accept a real key by bearer.
      const carriers = options.isApiKey && route.takesKeys ? (['cookie'] as const) : (['bearer', 'cookie'] as const);
      for (const carrier of carriers) {
        const headers =
          carrier === 'bearer'
            ? { authorization: `Bearer ${token}` }
            : { cookie: `tg_access=${token}`, 'x-requested-with': 'XMLHttpRequest' };
        tally.badInput();
        const response = await f.inject({
          method: route.method,
          url: urlOf(route),
          headers: { ...headers, ...(route.body ? { 'content-type': 'application/json' } : {}) },
          ...(route.body ? { payload: '{}' } : {}),
        });
        tally.check(
          response.statusCode === 401,
          `${label} (${carrier}) on ${route.method} ${route.path}: ${response.statusCode}, not 401`,
        );
      }
    }
    const changed = changedTables(before, await snapshot(db));
    tally.check(changed.length === 0, `${label}: refused everywhere yet changed ${changed.join(', ')}`);
  }

  it('forged and malformed tokens are refused by every protected route', async () => {
    const mark = tally.mark;
    const real = f.user.accessToken;
    const { sid, sub } = claimsOf(real);
    const adminClaims = claimsOf(f.admin);
    const [header, , signature] = real.split('.');
    const now = Math.floor(Date.now() / 1000);
    const forged: Array<[string, string]> = [
      [
        'signed with another secret',
        await sign({ sid, sub }, { secret: 'not-the-secret-not-the-secret-not-the-secret' }),
      ],
      [
        'an admin session signed with another secret',
        await sign({ sid: adminClaims.sid, sub: adminClaims.sub }, { secret: 'x'.repeat(48) }),
      ],
      [
        'alg none',
        `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sid, sub, iss: 'tollgate', aud: 'tollgate-api', exp: now + 3600 })}.`,
      ],
      [
        'alg NONE',
        `${b64({ alg: 'NONE', typ: 'JWT' })}.${b64({ sid, sub, iss: 'tollgate', aud: 'tollgate-api', exp: now + 3600 })}.`,
      ],
      ['alg None with the real signature', `${b64({ alg: 'None' })}.${b64({ sid, sub })}.${signature}`],
      [
        'claims swapped to the admin session, signature kept',
        `${header}.${b64({ sid: adminClaims.sid, sub: adminClaims.sub, iss: 'tollgate', aud: 'tollgate-api', exp: now + 3600 })}.${signature}`,
      ],
      ['the right secret with HS512', await sign({ sid, sub }, { alg: 'HS512' })],
      ['the right secret, expired an hour ago', await sign({ sid, sub }, { iat: now - 7200, exp: now - 3600 })],
      ['the right secret, not valid before tomorrow', await sign({ sid, sub }, { nbf: now + 86_400 })],
      ['the right secret, another issuer', await sign({ sid, sub }, { iss: 'someone-else' })],
      ['the right secret, another audience', await sign({ sid, sub }, { aud: 'another-api' })],
      ['the right secret, no session id', await sign({ sub })],
      [
        'the right secret, a session that does not exist',
        await sign({ sid: '01900000-0000-7000-8000-000000000000', sub }),
      ],
      ['a refresh token', f.user.refreshToken],
      ['an API key', f.userKey.secret],
      ['garbage', 'not.a.jwt'],
      ['two dots', '..'],
      ['a huge token', 'a'.repeat(20_000)],
    ];
    for (const [label, token] of forged)
      await refusedEverywhere(label, token, { isApiKey: token === f.userKey.secret });
    tally.note(
      `${forged.length} forged or wrong tokens × ${protectedRoutes.length} protected routes × bearer and cookie: all 401`,
    );
    expect(tally.since(mark)).toEqual([]);
  });

  it('a rotated refresh token presented again ends its whole session', async () => {
    const mark = tally.mark;
    const login = await f.inject({
      method: 'POST',
      url: '/api/auth/login',
      payload: { email: f.other.email, password: 'Sup3rSecret' },
    });
    const first = login.json<{ access_token: string; refresh_token: string }>();
    const rotated = await f.inject({
      method: 'POST',
      url: '/api/auth/refresh',
      payload: { refresh_token: first.refresh_token },
    });
    tally.check(rotated.statusCode === 200, `the first refresh failed: ${rotated.statusCode}`);
    const second = rotated.json<{ access_token: string; refresh_token: string }>();
    // Refused once past the grace window of parallel refreshes, and on purpose not without effect:
    // the reuse revokes the session it belongs to.
    f.t.clock.advance(f.t.config.REFRESH_TOKEN_GRACE * 1000);
    const reused = await f.inject({
      method: 'POST',
      url: '/api/auth/refresh',
      payload: { refresh_token: first.refresh_token },
    });
    tally.badInput();
    tally.check(reused.statusCode === 401, `a reused refresh token got ${reused.statusCode}`);
    const next = await f.inject({
      method: 'POST',
      url: '/api/auth/refresh',
      payload: { refresh_token: second.refresh_token },
    });
    tally.check(
      next.statusCode === 401,
      `after a reuse, the newest refresh token of the session still works (${next.statusCode})`,
    );
    for (const token of [first.access_token, second.access_token]) {
      const profile = await f.inject({
        method: 'GET',
        url: '/api/user/profile',
        headers: { authorization: `Bearer ${token}` },
      });
      tally.check(
        profile.statusCode === 401,
        `an access token of the revoked session still works (${profile.statusCode})`,
      );
    }
    // The reuse ended that session only: the user's other sessions live on.
    const elsewhere = await f.inject({
      method: 'GET',
      url: '/api/user/profile',
      headers: { authorization: `Bearer ${f.other.accessToken}` },
    });
    tally.check(elsewhere.statusCode === 200, `the user's other session was ended too (${elsewhere.statusCode})`);
    expect(tally.since(mark)).toEqual([]);
  });

  it('a cookie session may not change state without X-Requested-With (CSRF)', async () => {
    const mark = tally.mark;
    const response = await sendBadInput(f, 'cookie without X-Requested-With', 'none', {
      method: 'POST',
      url: '/api/keys',
      headers: { cookie: `tg_access=${f.user.accessToken}`, 'content-type': 'application/json' },
      payload: '{"name":"csrf"}',
    });
    tally.check(response.statusCode === 403, `a cross-site form could create a key: ${response.statusCode}`);
    expect(tally.since(mark)).toEqual([]);
  });

  it('a real token stops working once it expires', async () => {
    const mark = tally.mark;
    f.t.clock.advance((f.t.config.ACCESS_TOKEN_TTL + 1) * 1000);
    await refusedEverywhere('a real token past its expiry', f.user.accessToken);
    expect(tally.since(mark)).toEqual([]);
  });
});

import { STRONG_PASSWORD } from '#test/helpers/test-app.ts';
import type { FuzzApp } from './fuzz-app.ts';
import { fillPath, type Access, type RouteOperation } from './routes.ts';

/**
 * Who may call a route, found by asking the app rather than by reading its code: no credentials →
 * not 401 means public; a 401 in OpenAI's shape means an API-key route; a plain user's session
 * refused with 403 means an admin route. The user probe uses a session of its own (the second user's),
 * started again after a probe that ended it (a logout), so no probe spends what the suite still needs.
 */
export async function classify(f: FuzzApp, route: RouteOperation): Promise<Access> {
  const url = fillPath(route.path, Object.fromEntries(route.pathParams.map((p) => [p, 'probe'])));
  const payload = route.body ? '{}' : undefined;
  const headers = payload ? { 'content-type': 'application/json' } : {};
  const anonymous = await f.inject({ method: route.method, url, headers, ...(payload ? { payload } : {}) });
  if (anonymous.statusCode !== 401) return 'public';
  if (typeof (anonymous.json<{ error?: unknown }>().error as { type?: unknown } | undefined)?.type === 'string')
    return 'apikey';
  const token = await probeSession(f);
  const asUser = await f.inject({
    method: route.method,
    url,
    headers: { ...headers, authorization: `Bearer ${token}` },
    ...(payload ? { payload } : {}),
  });
  // A probe that ended the session (a logout) must not be taken for a refusal by the next route.
  if (asUser.statusCode < 300 && route.path.endsWith('/logout')) probeSessions.delete(f);
  return asUser.statusCode === 403 && asUser.json<{ code?: string }>().code === 'FORBIDDEN' ? 'admin' : 'user';
}

/** One session of the second user per app for the probes, signed in again only after a probe ended it. */
const probeSessions = new WeakMap<FuzzApp, string>();

async function probeSession(f: FuzzApp): Promise<string> {
  const known = probeSessions.get(f);
  if (known) return known;
  const login = await f.inject({
    method: 'POST',
    url: '/api/auth/login',
    payload: { email: f.other.email, password: STRONG_PASSWORD },
  });
  const token = login.json<{ access_token: string }>().access_token;
  probeSessions.set(f, token);
  return token;
}

/** Whether a session route also takes an API key (the Dify surface does, as seed 001's proxy did). */
export async function acceptsApiKey(f: FuzzApp, route: RouteOperation): Promise<boolean> {
  const url = fillPath(route.path, Object.fromEntries(route.pathParams.map((p) => [p, 'probe'])));
  const payload = route.body ? '{}' : undefined;
  const headers = {
    authorization: `Bearer ${f.userKey.secret}`,
    ...(payload ? { 'content-type': 'application/json' } : {}),
  };
  const response = await f.inject({ method: route.method, url, headers, ...(payload ? { payload } : {}) });
  return response.statusCode !== 401;
}

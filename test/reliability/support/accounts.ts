import { randomBytes } from 'node:crypto';
import type { Cluster } from './cluster.ts';

/** A user of the load: a session and API keys whose state the load tracks (see load/key-states.ts). */
export interface LoadUser {
  id: string;
  email: string;
  password: string;
  accessToken: string;
  refreshToken: string;
  keys: LoadKey[];
}

export interface LoadKey {
  id: string;
  secret: string;
  userId: string;
  /** What the suite last made of it, and when (ms) the change was acknowledged. */
  state: 'active' | 'disabled' | 'deleted';
  changedAt: number;
  /** A change is in flight: calls with this key may go either way. */
  changing: boolean;
}

let counter = 0;

/** Signs a user up the way a person does (send-code, read the mail, register) on instance `via`. */
export async function registerUser(cluster: Cluster, via = 0): Promise<LoadUser> {
  counter += 1;
  const email = `rel-${counter}-${randomBytes(3).toString('hex')}@example.com`;
  const password = `Rel1-${randomBytes(9).toString('base64url')}`;
  const url = cluster.url(via);
  await cluster.http.expectJson(url, 'POST', '/api/auth/send-code', 200, { body: { email } });
  const body = { email, password, username: `rel${counter}`, code: cluster.lastCode(email) };
  const session = await cluster.http.expectJson<{ access_token: string; refresh_token: string; user: { id: string } }>(
    url,
    'POST',
    '/api/auth/register',
    200,
    { body },
  );
  cluster.secrets.add(`password of ${email}`, password);
  cluster.secrets.add(`access token of ${email}`, session.access_token);
  cluster.secrets.add(`refresh token of ${email}`, session.refresh_token);
  return {
    id: session.user.id,
    email,
    password,
    accessToken: session.access_token,
    refreshToken: session.refresh_token,
    keys: [],
  };
}

/** Creates an API key for `user` on instance `via`; the secret is recorded for the log scan. */
export async function createKey(
  cluster: Cluster,
  user: LoadUser,
  body: Record<string, unknown> = {},
  via = 0,
): Promise<LoadKey> {
  const created = await cluster.http.expectJson<{ key: string; apiKey: { id: string } }>(
    cluster.url(via),
    'POST',
    '/api/keys',
    201,
    {
      token: user.accessToken,
      body: { name: 'reliability', ...body },
    },
  );
  cluster.secrets.add(`API key of ${user.email}`, created.key);
  const key: LoadKey = {
    id: created.apiKey.id,
    secret: created.key,
    userId: user.id,
    state: 'active',
    changedAt: Date.now(),
    changing: false,
  };
  user.keys.push(key);
  return key;
}

/** Adds (or takes) credits as the admin: the load's users start small on purpose. */
export async function adjustCredits(cluster: Cluster, userId: string, amount: number): Promise<void> {
  await cluster.http.expectJson(cluster.url(0), 'POST', `/api/admin/users/${userId}/credits`, 200, {
    token: cluster.adminToken,
    body: { amount, reason: 'reliability suite' },
  });
}

/** A batch of redeem codes made by the admin; every code is recorded for the log scan. */
export async function createCodes(
  cluster: Cluster,
  count: number,
  credits: number,
  maxUses: number,
): Promise<Array<{ id: string; code: string; maxUses: number }>> {
  const batch = await cluster.http.expectJson<{ codes: Array<{ id: string; code: string }> }>(
    cluster.url(0),
    'POST',
    '/api/admin/redeem-codes',
    200,
    {
      token: cluster.adminToken,
      body: { count, credits, maxUses },
    },
  );
  for (const c of batch.codes) cluster.secrets.add('redeem code', c.code);
  return batch.codes.map((c) => ({ id: c.id, code: c.code, maxUses }));
}

import type { AddressInfo } from 'node:net';
import { expect } from 'vitest';
import { FakeDify } from '#test/fakes/dify.ts';
import {
  ADMIN_ENV,
  adminToken,
  call,
  createTestApp,
  registerUser,
  type Backend,
  type RegisteredUser,
  type TestApp,
} from '#test/helpers/test-app.ts';
import { balanceOf, expectBooksBalanced, setBalance, usageRows, type Gateway } from '#test/helpers/gateway.ts';

export { balanceOf, expectBooksBalanced, setBalance, usageRows };

/** Prices every Dify suite gives its apps: easy sums. Credits per 1K input/output tokens, and per call. */
export const DIFY_PRICES = {
  input: 10,
  output: 20,
  endpoints: {
    'chat-messages': 1,
    'completion-messages': 2,
    'workflows/run': 3,
    suggested: 1,
    'audio-to-text': 4,
    'text-to-audio': 5,
    'files/upload': 0,
  },
};

export const APP_KEYS = {
  chat: 'app-fake-chat',
  agent: 'app-fake-agent',
  chatflow: 'app-fake-chatflow',
  completion: 'app-fake-completion',
  workflow: 'app-fake-workflow',
} as const;

/** Tollgate with an admin and the fake Dify's apps as channels of kind `dify` (chat, completion and workflow by default). */
export interface DifyGateway {
  t: TestApp;
  fake: FakeDify;
  admin: string;
  /** Channel ids by app key. */
  apps: Record<string, string>;
  /** `http://127.0.0.1:<port>/api/dify` when listening: the base URL the dify-client SDK is given. */
  baseURL: string;
  close(): Promise<void>;
}

export async function startDify(
  backend: Backend,
  options: {
    env?: Record<string, string>;
    listen?: boolean;
    apps?: Array<{ key: string; mode: string }>;
    pingIntervalMs?: number;
  } = {},
): Promise<DifyGateway> {
  const fake = await FakeDify.start({ pingIntervalMs: options.pingIntervalMs ?? 10_000 });
  let t: TestApp;
  try {
    t = await createTestApp(backend, { env: { ...ADMIN_ENV, ...options.env } });
  } catch (error) {
    await fake.close();
    throw error;
  }
  const admin = await adminToken(t);
  const apps: Record<string, string> = {};
  const wanted = options.apps ?? [
    { key: APP_KEYS.chat, mode: 'chat' },
    { key: APP_KEYS.completion, mode: 'completion' },
    { key: APP_KEYS.workflow, mode: 'workflow' },
  ];
  for (const app of wanted) apps[app.key] = (await addDifyApp(t, admin, fake, app.key, app.mode)).id;
  let baseURL = '';
  if (options.listen) {
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    baseURL = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}/api/dify`;
  }
  return {
    t,
    fake,
    admin,
    apps,
    baseURL,
    async close() {
      if (options.listen) t.app.server.closeAllConnections();
      await t.close();
      await fake.close();
    },
  };
}

export async function addDifyApp(
  t: TestApp,
  admin: string,
  fake: FakeDify,
  key: string,
  mode: string,
  extra: Record<string, unknown> = {},
): Promise<{ id: string }> {
  const res = await call(t.app, 'POST', '/api/admin/channels', {
    token: admin,
    body: {
      name: `Fake ${mode} app`,
      kind: 'dify',
      baseUrl: fake.url,
      apiKey: key,
      appMode: mode,
      prices: DIFY_PRICES,
      ...extra,
    },
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json();
}

/** The gateway helpers' view of this fixture (they only read `t` and `admin`). */
export function asGateway(g: DifyGateway): Gateway {
  return g as unknown as Gateway;
}

export async function newUser(g: DifyGateway, balance?: number): Promise<RegisteredUser> {
  const user = await registerUser(g.t);
  if (balance !== undefined) await setBalance(asGateway(g), user.id, balance);
  return user;
}

/** A call to /api/dify/* through inject, as `token` (a session token or an API key). */
export function dify(
  g: DifyGateway,
  token: string | undefined,
  method: 'GET' | 'POST' | 'DELETE',
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
) {
  return call(g.t.app, method, `/api/dify${path}`, {
    ...(token ? { token } : {}),
    ...(body === undefined ? {} : { body }),
    headers,
  });
}

/** Charge = base + in×input/1000 + out×output/1000, rounded up, at DIFY_PRICES. */
export function difyCharge(base: number, inputTokens: number, outputTokens: number): number {
  return Math.ceil((base * 1000 + inputTokens * DIFY_PRICES.input + outputTokens * DIFY_PRICES.output) / 1000);
}

/** The fake's token model: runs of non-space characters. */
export function tokens(text: string): number {
  return text.match(/\s*\S+/g)?.length ?? 0;
}

/** The `user` Tollgate gives Dify for a Tollgate user. */
export const difyUser = (userId: string) => `tollgate-${userId}`;

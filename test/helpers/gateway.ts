import type { AddressInfo } from 'node:net';
import OpenAI from 'openai';
import { expect } from 'vitest';
import type { UsageRow } from '#modules/usage/usage.tables.ts';
import { FakeOpenAI } from '#test/fakes/openai.ts';
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

/**
 * The price every suite sets for its main model: easy sums. Credits per 1K input, per 1K output, per call:
 * a call costs 1 + input/100 + output/50, rounded up (tests state the credits they expect literally).
 */
export const PRICE = { input: 10, output: 20, perRequest: 1 };
export const MODEL = 'gpt-4o-mini';
/** Every model the fake serves (and so the fixture's channel). */
export const FAKE_MODELS = [
  'gpt-4o-mini',
  'gpt-4o',
  'gpt-3.5-turbo-instruct',
  'text-embedding-3-small',
  'text-embedding-3-large',
  'dall-e-2',
  'dall-e-3',
  'gpt-image-1',
];
export const UPSTREAM_SECRET = 'sk-upstream-secret-0123456789';

/** Tollgate on a fresh backend, with an admin, a fake upstream as its one channel, and prices set. */
export interface Gateway {
  t: TestApp;
  fake: FakeOpenAI;
  admin: string;
  /** Base URL for the SDK (`…/v1`) when listening. */
  baseURL: string;
  channelId: string;
  close(): Promise<void>;
}

export async function startGateway(
  backend: Backend,
  options: { env?: Record<string, string>; listen?: boolean; channel?: boolean } = {},
): Promise<Gateway> {
  const fake = await FakeOpenAI.start();
  let t: TestApp;
  try {
    t = await createTestApp(backend, { env: { ...ADMIN_ENV, ...options.env } });
  } catch (error) {
    await fake.close();
    throw error;
  }
  const admin = await adminToken(t);
  let channelId = '';
  if (options.channel !== false) channelId = (await addChannel(t, admin, { baseUrl: fake.url })).id;
  await setPrice(t, admin, MODEL, PRICE);
  let baseURL = '';
  if (options.listen) {
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    baseURL = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}/v1`;
  }
  return {
    t,
    fake,
    admin,
    baseURL,
    channelId,
    async close() {
      // The SDK's HTTP client may leave a connection open that never sent a request; do not wait for it.
      if (options.listen) t.app.server.closeAllConnections();
      await t.close();
      await fake.close();
    },
  };
}

export interface ChannelView {
  id: string;
  name: string;
  baseUrl: string;
  apiKeyPreview: string;
  models: string[];
  modelMap: Record<string, string>;
  priority: number;
  weight: number;
  enabled: boolean;
  autoDisabled: boolean;
  consecutiveFailures: number;
  lastError: string | null;
}

export async function addChannel(t: TestApp, admin: string, body: Record<string, unknown>): Promise<ChannelView> {
  const res = await call(t.app, 'POST', '/api/admin/channels', {
    token: admin,
    body: { name: 'fake', apiKey: UPSTREAM_SECRET, models: FAKE_MODELS, ...body },
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json();
}

export async function channelView(t: TestApp, admin: string, id: string): Promise<ChannelView> {
  const res = await call(t.app, 'GET', '/api/admin/channels', { token: admin });
  expect(res.statusCode).toBe(200);
  const found = res.json<{ items: ChannelView[] }>().items.find((c) => c.id === id);
  if (!found) throw new Error(`channel ${id} is not listed`);
  return found;
}

export async function setPrice(t: TestApp, admin: string, model: string, price: Record<string, number>): Promise<void> {
  const res = await call(t.app, 'PUT', `/api/admin/pricing/${encodeURIComponent(model)}`, {
    token: admin,
    body: price,
  });
  expect(res.statusCode, res.body).toBe(200);
}

export interface KeyView {
  id: string;
  name: string;
  preview: string;
  enabled: boolean;
  expiresAt: string | null;
  allowedModels: string[] | null;
  allowedIps: string[] | null;
  creditCap: number | null;
  creditsUsed: number;
  rateLimits: { rpm: number | null; tpm: number | null; concurrency: number | null; rpd: number | null };
  lastUsedAt: string | null;
  createdAt: string;
}

/** Creates a key through the API; returns the secret (shown this once) and its view. */
export async function createKey(
  t: TestApp,
  user: RegisteredUser,
  body: Record<string, unknown> = {},
): Promise<{ secret: string; key: KeyView }> {
  const res = await call(t.app, 'POST', '/api/keys', { token: user.accessToken, body: { name: 'test key', ...body } });
  expect(res.statusCode, res.body).toBe(201);
  const { key, apiKey } = res.json<{ key: string; apiKey: KeyView }>();
  return { secret: key, key: apiKey };
}

export interface Caller {
  user: RegisteredUser;
  secret: string;
  keyId: string;
}

/** A new user (with the sign-up bonus) and one key. */
export async function newCaller(g: Gateway, keyBody: Record<string, unknown> = {}): Promise<Caller> {
  const user = await registerUser(g.t);
  const { secret, key } = await createKey(g.t, user, keyBody);
  return { user, secret, keyId: key.id };
}

/** The official SDK pointed at the listening Tollgate (no retries unless asked). */
export function sdk(
  g: Gateway,
  apiKey: string,
  options: Partial<ConstructorParameters<typeof OpenAI>[0]> = {},
): OpenAI {
  if (!g.baseURL) throw new Error('the gateway is not listening');
  return new OpenAI({ baseURL: g.baseURL, apiKey, maxRetries: 0, logLevel: 'off', ...options });
}

/** A raw call to the OpenAI surface through inject. */
export function v1(
  g: Gateway,
  secret: string | undefined,
  method: 'GET' | 'POST',
  url: string,
  body?: unknown,
  extra: { ip?: string; headers?: Record<string, string> } = {},
) {
  return call(g.t.app, method, url, {
    ...(secret ? { token: secret } : {}),
    ...(body === undefined ? {} : { body }),
    ...extra,
  });
}

export const chatBody = (extra: Record<string, unknown> = {}) => ({
  model: MODEL,
  messages: [{ role: 'user', content: 'Say hello to the nice people' }],
  ...extra,
});

/** Sets the user's balance to exactly `amount` with an admin adjustment. */
export async function setBalance(g: Gateway, userId: string, amount: number): Promise<void> {
  const { balance } = await g.t.app.services.credits.account(userId);
  if (balance === amount) return;
  const res = await call(g.t.app, 'POST', `/api/admin/users/${userId}/credits`, {
    token: g.admin,
    body: { amount: amount - balance, reason: 'test' },
  });
  expect(res.statusCode, res.body).toBe(200);
}

export async function balanceOf(g: Gateway, userId: string): Promise<number> {
  return (await g.t.app.services.credits.account(userId)).balance;
}

/** docs/money.md, rules 1 and 3: the balance equals the ledger, and no hold is left open. Returns the balance. */
export async function expectBooksBalanced(g: Gateway, userId: string): Promise<number> {
  const credits = g.t.app.services.credits;
  const [{ balance, held }, sum, open] = await Promise.all([
    credits.account(userId),
    credits.ledgerSum(userId),
    credits.openHolds(userId),
  ]);
  expect(balance, 'balance == Σ ledger').toBe(sum);
  expect(open, 'open holds').toBe(0);
  expect(held, 'credits held').toBe(0);
  return balance;
}

export function usageRows(g: Gateway, userId: string): Promise<UsageRow[]> {
  return g.t.app.services.database.db
    .selectFrom('usage_records')
    .selectAll()
    .where('user_id', '=', userId)
    .orderBy('created_at')
    .orderBy('id')
    .execute();
}

/** Waits (bounded) until `check` holds: for work that finishes after the client has gone. */
export async function eventually<T>(
  check: () => Promise<T | undefined | false> | T | undefined | false,
  what: string,
  timeoutMs = 5_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`not reached within ${timeoutMs} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

export interface Expected {
  credits: number;
  inputTokens?: number;
  outputTokens?: number;
  endReason?: string;
  usageSource?: string;
  status?: 'ok' | 'error';
  model?: string;
  endpoint?: string;
}

/**
 * After one call by a fresh caller: exactly one usage record as expected, the balance moved by exactly
 * its credits from `before`, balance == ledger, no hold open. Returns the record.
 */
export async function expectBilledOnce(
  g: Gateway,
  userId: string,
  before: number,
  expected: Expected,
): Promise<UsageRow> {
  const rows = await usageRows(g, userId);
  expect(rows, 'one usage record').toHaveLength(1);
  const row = rows[0]!;
  expect({
    credits: row.credits,
    ...(expected.inputTokens === undefined ? {} : { inputTokens: row.input_tokens }),
    ...(expected.outputTokens === undefined ? {} : { outputTokens: row.output_tokens }),
    ...(expected.endReason === undefined ? {} : { endReason: row.end_reason }),
    ...(expected.usageSource === undefined ? {} : { usageSource: row.usage_source }),
    ...(expected.status === undefined ? {} : { status: row.status }),
    ...(expected.model === undefined ? {} : { model: row.model }),
    ...(expected.endpoint === undefined ? {} : { endpoint: row.endpoint }),
  }).toEqual(expected);
  const balance = await expectBooksBalanced(g, userId);
  expect(balance, 'balance moved by the charge').toBe(before - expected.credits);
  return row;
}

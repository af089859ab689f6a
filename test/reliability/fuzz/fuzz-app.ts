import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { FakeDify } from '#test/fakes/dify.ts';
import { FakeImageJobs } from '#test/fakes/image-jobs.ts';
import { FakeOpenAI } from '#test/fakes/openai.ts';
import { FakeWeChat } from '#test/fakes/wechat.ts';
import { FakeStripe } from '#test/fakes/stripe.ts';
import { FakeWeChatPay } from '#test/fakes/wechat-pay.ts';
import {
  ADMIN_ENV,
  adminToken,
  backends,
  call,
  createTestApp,
  registerUser,
  type RegisteredUser,
  type TestApp,
} from '#test/helpers/test-app.ts';
import { MODEL, PRICE } from '#test/reliability/support/pricing.ts';
import { png } from '#test/storage/images.ts';
import type { Tally } from '#test/reliability/tally.ts';
import type { Access } from './routes.ts';

export const CHANNEL_SECRET = 'sk-fuzz-upstream-secret-0123456789abcdef';
/** The admin key (ADMIN_API_KEY, X-Admin-Key) of the fuzz app: set, so a made-up key is a wrong one (401). */
export const FUZZ_ADMIN_KEY = 'fuzz-admin-key-0123456789-abcdefghijklmnop';
/** The Dify app's key (DIFY_API_KEY): like the channel secret, only the Dify fake may ever see it. */
export const DIFY_APP_SECRET = 'app-fuzz-dify-secret-0123456789abcdef';

/**
 * The in-process app the fuzzers and the security suites attack (SQLite, memory store: app.inject is
 * what makes thousands of inputs affordable), with the fake OpenAI as its channel, the fake Dify as its
 * Dify app (a chat app, so /api/dify is served end to end, not 503 "not configured"), an admin, a user
 * with credits and an API key, and a second user whose resources must stay out of the first's reach.
 * Small body limits so oversized bodies are cheap to send.
 */
export interface FuzzApp {
  t: TestApp;
  fake: FakeOpenAI;
  /** The Dify app behind /api/dify (DIFY_API_URL / DIFY_API_KEY). */
  dify: FakeDify;
  /** WeChat behind seed 003's sign-in (WECHAT_API_BASE_URL), so /v1/auth/* is fuzzed end to end, not 503 "not configured". */
  wechat: FakeWeChat;
  /** Stripe behind the payment routes (STRIPE_*), so orders are fuzzed end to end, not 503 "payments off". */
  stripe: FakeStripe;
  /** WeChat Pay (WECHAT_PAY_*), so its notification paths are served and fuzzed. */
  wechatPay: FakeWeChatPay;
  /** The image job API (THIRD_PARTY_API_*), so seed 003's /v1/proxy routes are served and fuzzed. */
  imageJobs: FakeImageJobs;
  tally: Tally;
  admin: string;
  user: RegisteredUser;
  other: RegisteredUser;
  userKey: { id: string; secret: string };
  otherKey: { id: string; secret: string };
  channelId: string;
  /** A Dify conversation of each user, made with a first chat: real ids for the Dify routes' parameters. */
  userChat: DifyChat;
  otherChat: DifyChat;
  /** A paid order of each user (a credit pack through Stripe): real ids for the order routes' parameters. */
  userOrder: PaidOrder;
  otherOrder: PaidOrder;
  /** The second user's upload, published to the gallery, and their favorite of it: real ids for the gallery and favorites routes. */
  otherGallery: GalleryItems;
  /** A finished (settled) image job of the second user: a real id for the job routes' parameters. */
  otherJob: string;
  /** Ids worth putting in path parameters: real ones (own and foreign) among the made-up ones. */
  idPool: string[];
  /** Authorization headers per kind of caller. */
  credentials(mode: Access | 'none'): Record<string, string>;
  inject(options: InjectOptions & { url: string }): Promise<LightMyRequestResponse>;
  close(): Promise<void>;
}

export interface DifyChat {
  conversationId: string;
  messageId: string;
  taskId: string;
}

export interface GalleryItems {
  uploadId: string;
  imageId: string;
  favoriteId: string;
}

export interface PaidOrder {
  id: string;
  orderNo: string;
}

let ipCounter = 0;
/** A client address of its own per request, so per-IP counters never turn the fuzz into 429s. */
export function nextIp(): string {
  ipCounter += 1;
  return `10.77.${Math.floor(ipCounter / 250) % 250}.${(ipCounter % 250) + 1}`;
}

/** A first Dify chat of `token`'s user (a new conversation), through the app as a client makes it. */
export async function startDifyChat(t: TestApp, token: string, query: string): Promise<DifyChat> {
  const res = await call(t.app, 'POST', '/api/dify/chat-messages', {
    token,
    body: { query, inputs: {}, response_mode: 'blocking' },
  });
  if (res.statusCode !== 200)
    throw new Error(`the fuzz app's Dify chat failed: ${res.statusCode} ${res.body.slice(0, 300)}`);
  const answer = res.json<{ conversation_id: string; message_id: string; task_id: string }>();
  return { conversationId: answer.conversation_id, messageId: answer.message_id, taskId: answer.task_id };
}

/** A credit pack bought by `token`'s user through the fake Stripe, paid and confirmed by its signed webhook. */
async function buyCredits(t: TestApp, stripe: FakeStripe, token: string): Promise<PaidOrder> {
  const res = await call(t.app, 'POST', '/v1/points/recharge', {
    token,
    body: { packId: 'small', channel: 'stripe_checkout' },
  });
  if (res.statusCode !== 200) throw new Error(`the fuzz app's recharge failed: ${res.statusCode} ${res.body}`);
  const { order, checkout } = res.json<{
    data: { order: PaidOrder; checkout: { sessionId: string } };
  }>().data;
  const { body, headers } = stripe.signedDelivery(stripe.pay(checkout.sessionId));
  const paid = await t.app.inject({ method: 'POST', url: '/api/payments/stripe/webhook', payload: body, headers });
  if (paid.statusCode !== 200) throw new Error(`the fuzz app's payment failed: ${paid.statusCode} ${paid.body}`);
  return { id: order.id, orderNo: order.orderNo };
}

/** An image `token`'s user uploads and publishes to the gallery, and their favorite of it. */
async function publishToGallery(t: TestApp, token: string): Promise<GalleryItems> {
  const uploaded = await call(t.app, 'POST', '/v1/upload/image', {
    token,
    body: { image: png(8, 8).toString('base64') },
  });
  if (uploaded.statusCode !== 200)
    throw new Error(`the fuzz app's upload failed: ${uploaded.statusCode} ${uploaded.body}`);
  const uploadId = uploaded.json<{ data: { id: string } }>().data.id;
  const published = await call(t.app, 'POST', '/v1/gallery/publish', {
    token,
    body: { imageId: uploadId, title: 'mine', category: 'other', prompt: 'mine' },
  });
  if (published.statusCode !== 201)
    throw new Error(`the fuzz app's publishing failed: ${published.statusCode} ${published.body}`);
  const imageId = published.json<{ data: { id: string } }>().data.id;
  const favorite = await call(t.app, 'POST', '/v1/favorites', { token, body: { type: 'image', targetId: imageId } });
  if (favorite.statusCode !== 201)
    throw new Error(`the fuzz app's favorite failed: ${favorite.statusCode} ${favorite.body}`);
  return { uploadId, imageId, favoriteId: favorite.json<{ data: { id: string } }>().data.id };
}

/** An image job of `token`'s user that succeeded and is settled (asked about once it was accepted). */
async function finishedJob(t: TestApp, token: string): Promise<string> {
  const res = await call(t.app, 'POST', '/v1/proxy/images/generate', { token, body: { prompt: 'a private picture' } });
  if (res.statusCode !== 200) throw new Error(`the fuzz app's image job failed: ${res.statusCode} ${res.body}`);
  const { id } = res.json<{ data: { id: string } }>().data;
  const done = await call(t.app, 'GET', `/v1/proxy/jobs/${id}`, { token });
  if (done.json<{ data: { status: string } }>().data.status !== 'succeeded')
    throw new Error(`the fuzz app's image job did not succeed: ${done.body}`);
  return id;
}

/**
 * `env` adds to the app's environment. The fake Dify is its Dify app (DIFY_API_URL / DIFY_API_KEY), so
 * the Dify routes are fuzzed end to end; both users have a Dify conversation whose ids join the pool.
 */
export async function startFuzzApp(tally: Tally, env: Record<string, string> = {}): Promise<FuzzApp> {
  const fake = await FakeOpenAI.start();
  const dify = await FakeDify.start({
    apps: [{ key: DIFY_APP_SECRET, mode: 'chat', name: 'Fuzz Chat' }],
    pingIntervalMs: 50,
  });
  const wechat = await FakeWeChat.start();
  const stripe = await FakeStripe.start();
  const wechatPay = await FakeWeChatPay.start();
  const imageJobs = await FakeImageJobs.start();
  const t = await createTestApp(backends()[0], {
    env: {
      ...ADMIN_ENV,
      OPENAI_BASE_URL: fake.url,
      OPENAI_API_KEY: CHANNEL_SECRET,
      DIFY_API_URL: dify.url,
      DIFY_API_KEY: DIFY_APP_SECRET,
      DIFY_APP_MODE: 'chat',
      ADMIN_API_KEY: FUZZ_ADMIN_KEY,
      WECHAT_APPID: wechat.appid,
      WECHAT_SECRET: wechat.secret,
      WECHAT_API_BASE_URL: wechat.baseUrl,
      STRIPE_SECRET_KEY: stripe.secretKey,
      STRIPE_WEBHOOK_SECRET: stripe.webhookSecret,
      STRIPE_SUCCESS_URL: 'https://console.example/orders',
      STRIPE_API_BASE_URL: stripe.baseUrl,
      ...wechatPay.env('https://tollgate.example.com/v1/orders/payment-callback'),
      WECHAT_PAY_APPID: wechatPay.appid,
      ...imageJobs.env,
      BODY_LIMIT: '16384',
      GATEWAY_BODY_LIMIT: '131072',
      ...env,
    },
  });
  const admin = await adminToken(t);
  await call(t.app, 'PUT', `/api/admin/pricing/${MODEL}`, { token: admin, body: PRICE });
  const user = await registerUser(t);
  const other = await registerUser(t);
  await call(t.app, 'POST', `/api/admin/users/${user.id}/credits`, {
    token: admin,
    body: { amount: 1_000_000, reason: 'fuzz' },
  });
  const key = async (owner: RegisteredUser) => {
    const res = await call(t.app, 'POST', '/api/keys', { token: owner.accessToken, body: { name: 'fuzz' } });
    const created = res.json<{ key: string; apiKey: { id: string } }>();
    return { id: created.apiKey.id, secret: created.key };
  };
  const userKey = await key(user);
  const otherKey = await key(other);
  const channelId = t.app.services.channels.all().find((c) => c.kind === 'openai')!.id;
  const userChat = await startDifyChat(t, user.accessToken, 'my own question');
  const otherChat = await startDifyChat(t, other.accessToken, 'a private question');
  const userOrder = await buyCredits(t, stripe, user.accessToken);
  const otherOrder = await buyCredits(t, stripe, other.accessToken);
  const otherGallery = await publishToGallery(t, other.accessToken);
  const otherJob = await finishedJob(t, other.accessToken);
  const batch = (
    await call(t.app, 'POST', '/api/admin/redeem-codes', { token: admin, body: { count: 1, credits: 5 } })
  ).json<{ batchId: string; codes: Array<{ id: string }> }>();
  const tokens: Record<Access | 'none', string | undefined> = {
    none: undefined,
    public: undefined,
    user: user.accessToken,
    admin,
    apikey: userKey.secret,
  };
  return {
    t,
    fake,
    dify,
    wechat,
    stripe,
    wechatPay,
    imageJobs,
    tally,
    admin,
    user,
    other,
    userKey,
    otherKey,
    channelId,
    userChat,
    otherChat,
    userOrder,
    otherOrder,
    otherGallery,
    otherJob,
    idPool: [
      user.id,
      other.id,
      userKey.id,
      otherKey.id,
      channelId,
      batch.batchId,
      batch.codes[0]!.id,
      MODEL,
      '*',
      ...Object.values(userChat),
      ...Object.values(otherChat),
      ...Object.values(userOrder),
      ...Object.values(otherOrder),
      ...Object.values(otherGallery),
      otherJob,
    ],
    credentials(mode): Record<string, string> {
      const token = tokens[mode];
      return token ? { authorization: `Bearer ${token}` } : {};
    },
    inject(options) {
      tally.request();
      return t.app.inject({ remoteAddress: nextIp(), ...options });
    },
    async close() {
      tally.note(
        `${dify.stats.requests} requests reached the Dify app (${dify.stats.streamsStarted} streams, ${dify.stats.stops} stops)`,
      );
      await t.close();
      await fake.close();
      await dify.close();
      await wechat.close();
      await stripe.close();
      await wechatPay.close();
      await imageJobs.close();
    },
  };
}

import { createHash } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { DB } from '#core/db/schema.ts';
import { classify } from './fuzz/classify.ts';
import { FUZZ_ADMIN_KEY, startFuzzApp, type FuzzApp } from './fuzz/fuzz-app.ts';
import { sendBadInput } from './fuzz/rejection.ts';
import { fillPath, routesOf, type Access, type RouteOperation } from './fuzz/routes.ts';
import { MODEL } from './support/pricing.ts';
import { Tally } from './tally.ts';

type Route = RouteOperation & { access: Access };

/**
 * Columns of a user's rows that others' allowed actions change: a key's last use, and the like count of
 * an image the user published (anyone signed in may like it).
 */
const OTHERS_MAY_CHANGE = new Set(['last_used_at', 'like_count']);

/** Every row that belongs to `userId` (each table with a user_id column, and the user itself), as one hash. */
async function ownedRows(db: Kysely<DB>, userId: string): Promise<string> {
  const hash = createHash('sha256');
  for (const table of (await db.introspection.getTables()).sort((a, b) => a.name.localeCompare(b.name))) {
    const column =
      table.name === 'users' ? 'id' : table.columns.some((c) => c.name === 'user_id') ? 'user_id' : undefined;
    if (!column) continue;
    const rows = (
      await sql<
        Record<string, unknown>
      >`select * from ${sql.table(table.name)} where ${sql.ref(column)} = ${userId}`.execute(db)
    ).rows;
    const lines = rows
      .map((row) =>
        JSON.stringify(Object.fromEntries(Object.entries(row).filter(([name]) => !OTHERS_MAY_CHANGE.has(name)))),
      )
      .sort();
    hash.update(`${table.name}\n${lines.join('\n')}\n`);
  }
  return hash.digest('hex');
}

/**
 * What only the victim's own answers may contain: their email and key, and the ids of their user, key,
 * ledger rows, usage records (and request ids), check-ins, redemptions, sessions, Dify
 * conversations, messages and tasks, orders, favorites, uploads and image jobs (with their
 * upstream ids and the storage keys of images not published), one list per kind. (The gallery image
 * they published is public: its id is tried in the paths, not looked for in the answers.)
 */
async function markersOf(f: FuzzApp): Promise<string[][]> {
  const db = f.t.app.services.database.db;
  const id = f.other.id;
  const [ledger, usage, checkins, redemptions, sessions, conversations, messages, jobs, uploads] = await Promise.all([
    db.selectFrom('credit_ledger').select('id').where('user_id', '=', id).execute(),
    db.selectFrom('usage_records').select(['id', 'request_id']).where('user_id', '=', id).execute(),
    db.selectFrom('checkins').select('id').where('user_id', '=', id).execute(),
    db.selectFrom('redemptions').select('id').where('user_id', '=', id).execute(),
    db.selectFrom('sessions').select('id').where('user_id', '=', id).execute(),
    db.selectFrom('dify_conversations').select('id').where('user_id', '=', id).execute(),
    db.selectFrom('dify_messages').select(['id', 'task_id']).where('user_id', '=', id).execute(),
    db.selectFrom('image_jobs').select(['id', 'upstream_id']).where('user_id', '=', id).execute(),
    db.selectFrom('uploads').select(['id', 'storage_key']).where('user_id', '=', id).execute(),
  ]);
  return [
    [id],
    [f.otherKey.id],
    ledger.map((r) => r.id),
    usage.map((r) => r.id),
    usage.map((r) => r.request_id),
    checkins.map((r) => r.id),
    redemptions.map((r) => r.id),
    sessions.map((r) => r.id),
    conversations.map((r) => r.id),
    messages.map((r) => r.id),
    messages.flatMap((r) => (r.task_id ? [r.task_id] : [])),
    [f.otherOrder.id, f.otherOrder.orderNo],
    [f.otherGallery.favoriteId],
    jobs.map((r) => r.id),
    uploads.map((r) => r.id),
    [
      ...jobs.flatMap((r) => (r.upstream_id ? [r.upstream_id] : [])),
      // A published image's object is public (its URL is in the gallery): only the others' keys are private.
      ...uploads.filter((r) => r.id !== f.otherGallery.uploadId).map((r) => r.storage_key),
    ],
    [f.other.email, f.otherKey.secret],
  ];
}

/**
 * One user reaching for another's things: every session route, with the victim's ids in every path
 * parameter and in every query field that could name an owner. The attacker's answers never carry the
 * victim's data and none of the victim's rows change. Then every admin route as a plain user, without
 * credentials and with an API key: 403 / 401, and nothing changes.
 */
describe("other users' resources and admin routes, as a plain user", () => {
  const tally = new Tally('security: access');
  let f: FuzzApp;
  let routes: Route[];
  let markers: string[];
  /** One id of each kind, for the path parameters. */
  let ids: string[];
  /** Fields that get a Dify body past validation to the ownership check, naming the victim's conversation and message. */
  const difyFields = (path: string): Record<string, unknown> =>
    path.startsWith('/api/dify/') || path.startsWith('/api/v1/')
      ? {
          query: 'mine now',
          message: 'mine now',
          title: 'mine now',
          rating: 'dislike',
          inputs: {},
          conversation_id: f.otherChat.conversationId,
          message_id: f.otherChat.messageId,
        }
      : {};

  beforeAll(async () => {
    f = await startFuzzApp(tally);
    routes = [];
    for (const route of await routesOf(f.t.app)) routes.push({ ...route, access: await classify(f, route) });
    // The victim has a history: a check-in, a metered call, a redeemed code.
    const other = { authorization: `Bearer ${f.other.accessToken}` };
    await f.inject({ method: 'POST', url: '/api/checkin', headers: other });
    await f.inject({
      method: 'POST',
      url: '/v1/chat/completions',
      headers: { authorization: `Bearer ${f.otherKey.secret}` },
      payload: { model: MODEL, messages: [{ role: 'user', content: 'mine' }], fake_behavior: 'usage=10,10' },
    });
    const codes = (
      await f.inject({
        method: 'POST',
        url: '/api/admin/redeem-codes',
        headers: { authorization: `Bearer ${f.admin}` },
        payload: { count: 1, credits: 7 },
      })
    ).json<{ codes: Array<{ code: string }> }>();
    await f.inject({
      method: 'POST',
      url: '/api/credits/redeem',
      headers: other,
      payload: { code: codes.codes[0]!.code },
    });
    // And Dify conversations: one continued with a session, one started with the API key (their ids must exist to be tried).
    for (const [headers, payload] of [
      [
        other,
        {
          query: 'my diary, continued',
          inputs: {},
          conversation_id: f.otherChat.conversationId,
          response_mode: 'blocking',
        },
      ],
      [
        { authorization: `Bearer ${f.otherKey.secret}` },
        { query: 'my other diary', inputs: {}, response_mode: 'streaming' },
      ],
    ] as const) {
      const chat = await f.inject({ method: 'POST', url: '/api/dify/chat-messages', headers, payload });
      if (chat.statusCode !== 200)
        throw new Error(`the victim's Dify chat failed: ${chat.statusCode} ${chat.body.slice(0, 300)}`);
    }
    const kinds = await markersOf(f);
    markers = kinds.flat();
    ids = [...kinds.slice(0, -1).flatMap((kind) => kind.slice(0, 1)), f.otherGallery.imageId];
  });
  afterAll(async () => {
    await f?.close();
    tally.save(inject('tallyDir'));
  });

  it("a user never sees or changes another user's keys, ledger, usage, check-ins, redemptions, conversations, favorites, uploads or image jobs", async () => {
    const mark = tally.mark;
    const db = f.t.app.services.database.db;
    const victimBefore = await ownedRows(db, f.other.id);
    const ownerQuery = `userId=${f.other.id}&user_id=${f.other.id}&user=${f.other.id}&keyId=${f.otherKey.id}&key_id=${f.otherKey.id}`;
    let requests = 0;
    for (const route of routes.filter(
      (r) => r.access === 'user' && !(r.method === 'POST' && r.path === '/api/auth/logout'),
    )) {
      const urls =
        route.pathParams.length > 0
          ? ids.map((id) =>
              fillPath(route.path, Object.fromEntries(route.pathParams.map((p) => [p, encodeURIComponent(id)]))),
            )
          : [route.path];
      for (const url of urls) {
        for (const withQuery of [false, true]) {
          const target = withQuery ? `${url}?${ownerQuery}` : url;
          const body = route.body
            ? JSON.stringify({
                userId: f.other.id,
                user_id: f.other.id,
                keyId: f.otherKey.id,
                name: 'mine now',
                enabled: false,
                ...difyFields(route.path),
              })
            : undefined;
          requests += 1;
          const response = await sendBadInput(f, `${route.method} ${target} as another user`, 'user', {
            method: route.method,
            url: target,
            headers: body ? { 'content-type': 'application/json' } : {},
            ...(body ? { payload: body } : {}),
          });
          // The error envelope echoes the request's path: only what the attacker did not send counts as leaked.
          const leaked = markers.filter(
            (m) => response.body.includes(m) && !target.includes(m) && !(body ?? '').includes(m),
          );
          tally.check(
            leaked.length === 0,
            `${route.method} ${target} as another user answered ${response.statusCode} with the victim's ${leaked.join(', ')}`,
          );
        }
      }
    }
    tally.check(
      (await ownedRows(db, f.other.id)) === victimBefore,
      "another user's requests changed the victim's rows",
    );
    const stillWorks = await f.inject({
      method: 'POST',
      url: '/v1/chat/completions',
      headers: { authorization: `Bearer ${f.otherKey.secret}` },
      payload: { model: MODEL, messages: [{ role: 'user', content: 'still mine' }], fake_behavior: 'usage=1,1' },
    });
    tally.check(stillWorks.statusCode === 200, `the victim's key stopped working: ${stillWorks.statusCode}`);
    tally.note(
      `${requests} requests at ${routes.filter((r) => r.access === 'user').length} session routes with ${ids.length} of the victim's ids: nothing of the victim's seen or changed`,
    );
    expect(tally.since(mark)).toEqual([]);
  });

  it('every admin route refuses a plain user (403), wrong admin keys, no credentials and API keys (401), and changes nothing; the admin key is let in', async () => {
    const mark = tally.mark;
    const admin = routes.filter((r) => r.access === 'admin');
    tally.check(admin.length >= 20, `only ${admin.length} admin routes were found`);
    // Seed 002's admin routes (/api/v1/admin, FastAPI's error body) are classified by their own suite.
    const ADMIN_PREFIX = /^\/(api|v1)\/admin\//;
    const misplaced = admin.filter((r) => !ADMIN_PREFIX.test(r.path));
    tally.check(
      misplaced.length === 0,
      `admin routes outside /api/admin and /v1/admin: ${misplaced.map((r) => r.path).join(', ')}`,
    );
    const openAdmin = routes.filter((r) => ADMIN_PREFIX.test(r.path) && r.access !== 'admin');
    tally.check(
      openAdmin.length === 0,
      `routes under /api/admin or /v1/admin that a plain user may call: ${openAdmin.map((r) => `${r.method} ${r.path}`).join(', ')}`,
    );
    const adminTarget = (param: string) =>
      param === 'model' ? MODEL : param === 'id' ? f.other.id : param === 'orderId' ? f.otherOrder.id : f.channelId;
    for (const route of admin) {
      const url = fillPath(
        route.path,
        Object.fromEntries(
          // The victim's id: a plain user reaching for another account through the admin API.
          route.pathParams.map((p) => [p, adminTarget(p)]),
        ),
      );
      const body = route.body
        ? '{"amount":1000000,"reason":"self-service","count":1,"credits":1000000,"name":"mine","baseUrl":"http://127.0.0.1:1/v1","apiKey":"x","models":["*"],"input":0,"output":0,"role":"admin","status":"active"}'
        : undefined;
      const attempts: Array<[string, Access | 'none', Record<string, string>, number]> = [
        ['as a plain user', 'user', {}, 403],
        ['as a plain user with a made-up X-Admin-Key', 'user', { 'x-admin-key': 'let-me-in' }, 401],
        ['with a made-up X-Admin-Key', 'none', { 'x-admin-key': `${FUZZ_ADMIN_KEY}0` }, 401],
        ['with an empty X-Admin-Key', 'none', { 'x-admin-key': '' }, 401],
        ['without credentials', 'none', {}, 401],
        ['with an API key', 'apikey', {}, 401],
      ];
      for (const [how, mode, headers, status] of attempts) {
        const response = await sendBadInput(f, `${route.method} ${route.path} ${how}`, mode, {
          method: route.method,
          url,
          headers: { ...headers, ...(body ? { 'content-type': 'application/json' } : {}) },
          ...(body ? { payload: body } : {}),
        });
        tally.check(
          response.statusCode === status,
          `${route.method} ${route.path} ${how}: ${response.statusCode}, expected ${status}`,
        );
        const leaked = markers.filter((m) => response.body.includes(m) && !url.includes(m));
        tally.check(
          leaked.length === 0,
          `${route.method} ${url} ${how} answered with the victim's ${leaked.join(', ')}`,
        );
      }
      // The right key reads (a change it makes is no refusal: the audit and admin tests cover those).
      if (route.method === 'GET') {
        const response = await f.inject({ method: 'GET', url, headers: { 'x-admin-key': FUZZ_ADMIN_KEY } });
        tally.check(
          response.statusCode === 200,
          `GET ${route.path} with the admin key: ${response.statusCode}, expected 200`,
        );
      }
    }
    tally.note(
      `${admin.length} admin routes, each tried as a plain user (with and without a made-up X-Admin-Key), with a wrong and an empty admin key, without credentials and with an API key; the GET ones with the admin key`,
    );
    expect(tally.since(mark)).toEqual([]);
  });
});

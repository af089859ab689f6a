import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { classify } from './fuzz/classify.ts';
import { startFuzzApp, type FuzzApp } from './fuzz/fuzz-app.ts';
import { fuzzRoute } from './fuzz/route-fuzzer.ts';
import { routesOf, servedRoutes, type Access, type RouteOperation } from './fuzz/routes.ts';
import { changedTables, snapshot, writeCounter } from './fuzz/snapshot.ts';
import { STRONG_PASSWORD } from '#test/helpers/test-app.ts';
import { CONSOLE_PATH } from '#modules/console/console.routes.ts';
import { Tally } from './tally.ts';

/** Inputs per route and caller; the seed is fixed so a failure replays (override with FUZZ_SEED / FUZZ_RUNS). */
const RUNS = Number(process.env.FUZZ_RUNS ?? 30);
const SEED = Number(process.env.FUZZ_SEED ?? 20261123);

/** Public first, admin last: an admin input that is accepted may change what later routes see. */
const ORDER: Record<Access, number> = { public: 0, apikey: 1, user: 2, admin: 3 };

describe('property-based fuzzing of every public route (in-process app)', () => {
  const tally = new Tally('fuzzing: every route');
  let f: FuzzApp;
  let routes: Array<RouteOperation & { access: Access }>;

  beforeAll(async () => {
    f = await startFuzzApp(tally);
    routes = [];
    for (const route of await routesOf(f.t.app)) routes.push({ ...route, access: await classify(f, route) });
    routes.sort((a, b) => ORDER[a.access] - ORDER[b.access]);
  });
  afterAll(async () => {
    await f?.close();
    tally.save(inject('tallyDir'));
  });

  it('the OpenAPI document lists every route the server serves, so none escapes the fuzzing', () => {
    const documented = new Set(routes.map((r) => `${r.method} ${r.path}`));
    const missing = servedRoutes(f.t.app)
      // The documentation pages (Swagger UI, ReDoc) describe the routes; they are not in the document.
      .filter((r) => !r.path.startsWith('/api/docs') && !r.path.startsWith('/api/redoc'))
      // The web console's pages and built files (src/modules/console) are not API operations.
      .filter((r) => !CONSOLE_PATH.test(r.path))
      .flatMap((r) => r.methods.filter((m) => m !== 'HEAD' && m !== 'OPTIONS').map((m) => `${m} ${r.path}`))
      .filter((route) => !documented.has(route));
    tally.check(missing.length === 0, `routes served but not in the OpenAPI document: ${missing.join(', ')}`);
    const byAccess = Object.fromEntries(
      (['public', 'user', 'admin', 'apikey'] as const).map((a) => [a, routes.filter((r) => r.access === a).length]),
    );
    tally.note(
      `${routes.length} operations from /api/docs/json: ${JSON.stringify(byAccess)}; ${RUNS} inputs per route and caller, seed ${SEED}`,
    );
    expect(missing).toEqual([]);
    expect(routes.length).toBeGreaterThan(40);
  });

  it('the state check sees a write made by a rejected request (a reused refresh token revokes its session)', async () => {
    const db = f.t.app.services.database.db;
    const login = await f.inject({
      method: 'POST',
      url: '/api/auth/login',
      payload: { email: f.other.email, password: STRONG_PASSWORD },
    });
    const first = login.json<{ refresh_token: string }>().refresh_token;
    await f.inject({ method: 'POST', url: '/api/auth/refresh', payload: { refresh_token: first } });
    f.t.clock.advance(f.t.config.REFRESH_TOKEN_GRACE * 1000); // past the grace window of parallel refreshes
    const [before, writes] = [await snapshot(db), await writeCounter(db)];
    const reused = await f.inject({ method: 'POST', url: '/api/auth/refresh', payload: { refresh_token: first } });
    const moved = (await writeCounter(db)) !== writes;
    const changed = changedTables(before, await snapshot(db));
    tally.check(
      reused.statusCode === 401 && moved && changed.includes('sessions'),
      `the detector missed a write: ${reused.statusCode}, counter moved ${moved}, tables ${changed.join(',')}`,
    );
    expect(changed).toContain('sessions');
  });

  it('no body, query or param ever gets a 5xx, and a rejected input changes no table', async () => {
    const mark = tally.mark;
    for (const [i, route] of routes.entries()) {
      // Everyone tries every route without credentials; the right caller tries it too, and a plain user tries admin routes.
      const modes: Array<Access | 'none'> = ['none'];
      if (route.access === 'apikey') modes.push('apikey');
      if (route.access === 'user' && !(route.method === 'POST' && route.path === '/api/auth/logout'))
        modes.push('user');
      if (route.access === 'admin') modes.push('user', 'admin');
      for (const mode of modes) await fuzzRoute(f, route, mode, RUNS, SEED + i);
    }
    expect(tally.since(mark)).toEqual([]);
  });

  it('no input polluted Object.prototype', () => {
    const polluted = Object.keys(Object.prototype);
    tally.check(polluted.length === 0, `Object.prototype gained ${polluted.join(', ')}`);
    expect(polluted).toEqual([]);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  adminToken,
  backends,
  call,
  createTestApp,
  registerUser,
  type RegisteredUser,
  type TestApp,
} from '#test/helpers/test-app.ts';
import {
  ALPHABET,
  CODE_FORMAT,
  codeRow,
  DAY,
  makeCodes,
  MESSAGES,
  oneCode,
  parseCsv,
  redeem,
  REDEEM_ENV,
  snapshot,
  type CodeView,
} from './helpers.ts';

const CSV_HEADER = [
  'code',
  'credits',
  'max_uses',
  'used_count',
  'state',
  'expires_at',
  'batch_id',
  'note',
  'created_at',
];

describe.each(backends())('redeem code administration on $label', (backend) => {
  let t: TestApp;
  let admin: string;
  let user: RegisteredUser;
  beforeAll(async () => {
    t = await createTestApp(backend, { env: REDEEM_ENV });
    admin = await adminToken(t);
    user = await registerUser(t);
  });
  afterAll(() => t.close());

  const get = (url: string, token = admin) => call(t.app, 'GET', url, { token });
  const post = (url: string, body?: unknown, token = admin) =>
    call(t.app, 'POST', url, { token, ...(body === undefined ? {} : { body }) });
  const ids = (items: CodeView[]) => items.map((c) => c.id).sort();
  const list = async (query: string) => {
    const res = await get(`/api/admin/redeem-codes?${query}`);
    expect(res.statusCode, res.body).toBe(200);
    return res.json<{ items: CodeView[]; total: number; page: number; limit: number }>();
  };

  it('creates a batch and returns its codes, stored hashed and sealed, never in plain text', async () => {
    const expiresAt = new Date(t.clock.now() + 30 * DAY).toISOString();
    const { batchId, codes } = await makeCodes(t, admin, {
      count: 5,
      credits: 100,
      maxUses: 2,
      expiresAt,
      note: 'spring promo',
    });
    expect(codes).toHaveLength(5);
    expect(new Set(codes.map((c) => c.code)).size).toBe(5);
    for (const code of codes) {
      expect(code.code).toMatch(CODE_FORMAT);
      expect(code).toMatchObject({
        batchId,
        credits: 100,
        maxUses: 2,
        usedCount: 0,
        state: 'active',
        expiresAt,
        disabledAt: null,
        note: 'spring promo',
      });
      const row = await codeRow(t, code.id);
      expect(row).toMatchObject({
        batch_id: batchId,
        credits: 100,
        max_uses: 2,
        used_count: 0,
        expires_at: Date.parse(expiresAt),
        created_by: expect.any(String),
      });
      expect(JSON.stringify(row)).not.toContain(code.code.replace(/-/g, '').slice(2));
    }
    const defaults = await oneCode(t, admin, { credits: 7 });
    expect(defaults).toMatchObject({
      credits: 7,
      maxUses: 1,
      usedCount: 0,
      state: 'active',
      expiresAt: null,
      note: null,
    });
  });

  it('makes codes with 80 random bits: 1000 unique codes, and every one of the 16 positions uses all 32 symbols', async () => {
    const { codes } = await makeCodes(t, admin, { count: 1000, credits: 1 });
    expect(codes).toHaveLength(1000);
    const bodies = codes.map((c) => c.code.slice(3).replace(/-/g, ''));
    expect(new Set(bodies).size).toBe(1000);
    expect(ALPHABET).toHaveLength(32);
    for (let position = 0; position < 16; position++) {
      // With 1000 draws a missing symbol has a probability below 1e-12 per position.
      expect([...new Set(bodies.map((b) => b[position]))].sort().join(''), `position ${position}`).toBe(ALPHABET);
    }
  });

  it('lists codes newest first, paged, filtered by batch', async () => {
    const first = await makeCodes(t, admin, { count: 3, credits: 10 });
    t.clock.advance(1000);
    const second = await makeCodes(t, admin, { count: 2, credits: 20 });

    const batch = await list(`batchId=${first.batchId}`);
    expect(batch).toMatchObject({ total: 3, page: 1, limit: 20 });
    expect(ids(batch.items)).toEqual(ids(first.codes));

    const pages = [
      await list(`batchId=${first.batchId}&limit=2&page=1`),
      await list(`batchId=${first.batchId}&limit=2&page=2`),
    ];
    expect(pages.map((p) => p.items.length)).toEqual([2, 1]);
    expect(pages.map((p) => p.total)).toEqual([3, 3]);
    expect(ids(pages.flatMap((p) => p.items))).toEqual(ids(first.codes));

    const newest = await list('limit=2');
    expect(ids(newest.items)).toEqual(ids(second.codes));
    expect(newest.items[0]!.code).toMatch(CODE_FORMAT);
    expect((await list('batchId=no-such-batch')).total).toBe(0);
  });

  it('lists batches newest first with how their codes were used, and each code with who redeemed it last and when', async () => {
    t.clock.advance(1000);
    const older = await makeCodes(t, admin, { count: 3, credits: 7, maxUses: 2, note: 'spring promo' });
    t.clock.advance(1000);
    const newer = await makeCodes(t, admin, { count: 2, credits: 9 });
    const first = await registerUser(t);
    const second = await registerUser(t);
    const code = older.codes[0]!;
    expect((await redeem(t, first, code.code)).statusCode).toBe(200);
    t.clock.advance(1000);
    expect((await redeem(t, second, code.code)).statusCode).toBe(200);
    expect((await post(`/api/admin/redeem-codes/${older.codes[1]!.id}/disable`)).statusCode).toBe(200);

    const res = await get('/api/admin/redeem-batches?limit=2');
    expect(res.statusCode, res.body).toBe(200);
    const batches = res.json<{ items: Record<string, unknown>[]; total: number }>();
    expect(batches.items.map((b) => b.batchId)).toEqual([newer.batchId, older.batchId]);
    expect(batches.items[1]).toMatchObject({
      codes: 3,
      uses: 2,
      maxUses: 6,
      disabled: 1,
      credits: 7,
      planId: null,
      note: 'spring promo',
    });
    expect(batches.items[0]).toMatchObject({ codes: 2, uses: 0, maxUses: 2, disabled: 0, credits: 9 });
    expect(batches.total).toBeGreaterThanOrEqual(2);

    const listed = await list(`batchId=${older.batchId}`);
    const used = listed.items.find((c) => c.id === code.id) as CodeView & { lastUsed: unknown };
    expect(used.lastUsed).toEqual({
      userId: second.id,
      email: second.email,
      at: new Date(t.clock.now()).toISOString(),
    });
    const unused = listed.items.find((c) => c.id === older.codes[2]!.id) as CodeView & { lastUsed: unknown };
    expect(unused.lastUsed).toBeNull();
  });

  it('filters by state; a code has one state, and a used code that expires is expired, not used', async () => {
    const a = await makeCodes(t, admin, { count: 3, credits: 50 });
    const [usedA, disabledA, activeA] = a.codes as [CodeView, CodeView, CodeView];
    expect((await redeem(t, user, usedA.code)).statusCode).toBe(200);
    expect((await post(`/api/admin/redeem-codes/${disabledA.id}/disable`)).json()).toEqual({ disabled: 1 });

    const b = await makeCodes(t, admin, {
      count: 2,
      credits: 60,
      expiresAt: new Date(t.clock.now() + DAY).toISOString(),
    });
    const [usedB, openB] = b.codes as [CodeView, CodeView];
    expect((await redeem(t, user, usedB.code)).statusCode).toBe(200);

    const of = async (batchId: string, state: string) => {
      const page = await list(`batchId=${batchId}&state=${state}`);
      for (const item of page.items) expect(item.state).toBe(state);
      return ids(page.items);
    };
    expect(await of(a.batchId, 'active')).toEqual([activeA.id]);
    expect(await of(a.batchId, 'used')).toEqual([usedA.id]);
    expect(await of(a.batchId, 'disabled')).toEqual([disabledA.id]);
    expect(await of(a.batchId, 'expired')).toEqual([]);
    expect(await of(b.batchId, 'used')).toEqual([usedB.id]);
    expect(await of(b.batchId, 'active')).toEqual([openB.id]);

    t.clock.advance(DAY + 1);
    expect(await of(b.batchId, 'expired')).toEqual(ids(b.codes));
    expect(await of(b.batchId, 'used')).toEqual([]);
    expect(await of(b.batchId, 'active')).toEqual([]);
    expect(await of(a.batchId, 'active')).toEqual([activeA.id]);
    const everyDisabled = await list('state=disabled&limit=100');
    expect(everyDisabled.items.map((c) => c.id)).toContain(disabledA.id);
  });

  it('exports the filtered codes as CSV: a header row, one row per code, quoted fields and defused formulas', async () => {
    const note = '=HYPERLINK("http://evil"),1';
    const { batchId, codes } = await makeCodes(t, admin, { count: 3, credits: 42, note });
    const res = await get(`/api/admin/redeem-codes/export?batchId=${batchId}`);
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/csv/);
    expect(res.headers['content-disposition']).toMatch(/attachment; filename=".+\.csv"/);
    expect(res.body).toContain(`"'=HYPERLINK(""http://evil""),1"`);

    const [header, ...rows] = parseCsv(res.body);
    expect(header).toEqual(CSV_HEADER);
    expect(rows).toHaveLength(3);
    expect(rows.map((r) => r[0]).sort()).toEqual(codes.map((c) => c.code).sort());
    for (const row of rows) {
      expect(row).toHaveLength(CSV_HEADER.length);
      expect(row.slice(1, 8)).toEqual(['42', '1', '0', 'active', '', batchId, `'${note}`]);
      expect(new Date(row[8]!).toISOString()).toBe(row[8]);
    }

    await post(`/api/admin/redeem-codes/${codes[0]!.id}/disable`);
    const disabled = parseCsv((await get(`/api/admin/redeem-codes/export?batchId=${batchId}&state=disabled`)).body);
    expect(disabled.map((r) => r[0])).toEqual(['code', codes[0]!.code]);
  });

  it('disables one code, then a whole batch; repeating changes nothing more', async () => {
    const { batchId, codes } = await makeCodes(t, admin, { count: 3, credits: 5 });
    const one = await post(`/api/admin/redeem-codes/${codes[0]!.id}/disable`);
    expect(one.statusCode).toBe(200);
    expect(one.json()).toEqual({ disabled: 1 });
    expect((await codeRow(t, codes[0]!.id)).disabled_at).toBe(t.clock.now());
    expect((await post(`/api/admin/redeem-codes/${codes[0]!.id}/disable`)).json()).toEqual({ disabled: 0 });

    const all = await post(`/api/admin/redeem-batches/${batchId}/disable`);
    expect(all.statusCode).toBe(200);
    expect(all.json()).toEqual({ disabled: 2 });
    const listed = await list(`batchId=${batchId}`);
    expect(listed.items.map((c) => c.state)).toEqual(['disabled', 'disabled', 'disabled']);
    for (const item of listed.items) expect(new Date(item.disabledAt!).toISOString()).toBe(item.disabledAt);
    expect((await post(`/api/admin/redeem-batches/${batchId}/disable`)).json()).toEqual({ disabled: 0 });
    expect((await redeem(t, user, codes[2]!.code)).json().message).toBe(MESSAGES.disabled);
  });

  it('answers 404 for an unknown code or batch and 400 for a malformed id, changing nothing', async () => {
    await oneCode(t, admin);
    const before = await snapshot(t);
    for (const url of [
      '/api/admin/redeem-codes/00000000-0000-7000-8000-000000000000/disable',
      '/api/admin/redeem-batches/00000000-0000-7000-8000-000000000000/disable',
    ]) {
      const res = await post(url);
      expect(res.statusCode, url).toBe(404);
      expect(res.json()).toMatchObject({
        success: false,
        statusCode: 404,
        error: 'Not Found',
        message: MESSAGES.notFound,
        path: url,
      });
    }
    expect((await post(`/api/admin/redeem-codes/${'x'.repeat(37)}/disable`)).statusCode).toBe(400);
    expect((await post(`/api/admin/redeem-batches/${'x'.repeat(37)}/disable`)).statusCode).toBe(400);
    expect(await snapshot(t)).toEqual(before);
  });

  it.each([
    ['count 0', { count: 0, credits: 10 }, 'count'],
    ['count 1001', { count: 1001, credits: 10 }, 'count'],
    ['a fractional count', { count: 1.5, credits: 10 }, 'count'],
    ['count as text', { count: '5', credits: 10 }, 'count'],
    ['credits 0', { count: 1, credits: 0 }, 'credits'],
    ['negative credits', { count: 1, credits: -100 }, 'credits'],
    ['no credits', { count: 1 }, 'credits'],
    ['maxUses 0', { count: 1, credits: 10, maxUses: 0 }, 'maxUses'],
    ['a past expiresAt', { count: 1, credits: 10, expiresAt: '2020-01-01T00:00:00Z' }, 'expiresAt'],
    ['an expiresAt that is no date', { count: 1, credits: 10, expiresAt: 'tomorrow' }, 'expiresAt'],
    ['a note over 255 characters', { count: 1, credits: 10, note: 'n'.repeat(256) }, 'note'],
    ['an unknown field', { count: 1, credits: 10, plan: 'gold' }, 'plan'],
  ])('refuses a batch with %s as a 400 naming the field, and makes no code', async (name, body, field) => {
    const before = await snapshot(t);
    const res = await post('/api/admin/redeem-codes', body);
    expect(res.statusCode).toBe(400);
    const code = name === 'a past expiresAt' ? 'EXPIRES_AT_IN_PAST' : 'VALIDATION_FAILED';
    expect(res.json()).toMatchObject({ success: false, statusCode: 400, error: 'Bad Request', code });
    expect(res.json().message).toContain(field);
    expect(await snapshot(t)).toEqual(before);
  });

  it.each([
    ['an unknown state', 'state=lost'],
    ['page 0', 'page=0'],
    ['an unknown parameter', 'sort=code'],
  ])('refuses a list or export query with %s as a 400', async (_name, query) => {
    expect((await get(`/api/admin/redeem-codes?${query}`)).statusCode).toBe(400);
    if (!query.startsWith('page')) expect((await get(`/api/admin/redeem-codes/export?${query}`)).statusCode).toBe(400);
  });

  it('answers 403 to a plain user on every admin route and 401 without a token, changing nothing', async () => {
    const { batchId, codes } = await makeCodes(t, admin, { count: 2, credits: 10 });
    const before = await snapshot(t);
    const routes: [method: 'GET' | 'POST', url: string, body?: unknown][] = [
      ['POST', '/api/admin/redeem-codes', { count: 5, credits: 1_000_000 }],
      ['GET', '/api/admin/redeem-codes'],
      ['GET', `/api/admin/redeem-codes?batchId=${batchId}`],
      ['GET', '/api/admin/redeem-codes/export'],
      ['GET', '/api/admin/redeem-batches'],
      ['POST', `/api/admin/redeem-codes/${codes[0]!.id}/disable`],
      ['POST', `/api/admin/redeem-batches/${batchId}/disable`],
    ];
    for (const [method, url, body] of routes) {
      const forbidden = await call(t.app, method, url, { token: user.accessToken, ...(body ? { body } : {}) });
      expect(forbidden.statusCode, `${method} ${url}`).toBe(403);
      expect(forbidden.json()).toMatchObject({
        success: false,
        statusCode: 403,
        error: 'Forbidden',
        message: MESSAGES.forbidden,
      });
      expect(forbidden.body).not.toContain(codes[0]!.code);
      const anonymous = await call(t.app, method, url, body ? { body } : {});
      expect(anonymous.statusCode, `${method} ${url}`).toBe(401);
    }
    expect(await snapshot(t)).toEqual(before);
    expect((await list(`batchId=${batchId}&state=active`)).total).toBe(2);
  });
});

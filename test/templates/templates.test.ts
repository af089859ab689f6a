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
import { ADMIN_KEY, ADMIN_KEY_ENV, auditLog } from '#test/admin/helpers.ts';

interface Prompt {
  id: string;
  title: string;
  prompt: string;
  category: string;
  tags: string[];
  usageCount: number;
  isActive: boolean;
  sortOrder: number;
  createdAt: string;
}
interface Param {
  id: string;
  name: string;
  mode: string;
  resolution: string;
  width: number;
  height: number;
  count: number;
  params: Record<string, unknown>;
  usageCount: number;
  isActive: boolean;
}
interface Page<T> {
  items: T[];
  total: number;
  page: number;
  limit: number;
  nextCursor: string | null;
  hasMore: boolean;
}
interface Envelope<T> {
  success: boolean;
  data: T;
}
interface ErrorBody {
  success: false;
  statusCode: number;
  code: string;
  message: string;
  path: string;
}

const KEY = { 'x-admin-key': ADMIN_KEY };

describe.each(backends())('templates on $label', (backend) => {
  let t: TestApp;
  let admin: string;
  let user: RegisteredUser;

  beforeAll(async () => {
    t = await createTestApp(backend, { env: ADMIN_KEY_ENV });
    admin = await adminToken(t);
    user = await registerUser(t);
  });
  afterAll(() => t?.close());

  const get = async <T>(url: string, token?: string) => {
    const res = await call(t.app, 'GET', url, token ? { token } : {});
    expect(res.statusCode, `${url}: ${res.body.slice(0, 300)}`).toBe(200);
    const body = res.json<Envelope<T>>();
    expect(body.success).toBe(true);
    return body.data;
  };
  const prompts = (query = '') => get<Page<Prompt>>(`/v1/templates/prompts${query}`);
  const params = (query = '') => get<Page<Param>>(`/v1/templates/params${query}`);
  const use = (id: string, token = user.accessToken, kind = 'prompts') =>
    call(t.app, 'POST', `/v1/templates/${kind}/${id}/usage`, { token });
  /** Every item of a list, read page by page with the cursor. */
  const allByCursor = async <T extends { id: string }>(path: string, query: string, limit = 3): Promise<T[]> => {
    const seen: T[] = [];
    let cursor: string | null = null;
    for (let guard = 0; guard < 50; guard++) {
      const sep = query ? '&' : '';
      const url: string = `${path}?${query}${sep}limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`;
      const page: Page<T> = await get<Page<T>>(url, admin);
      seen.push(...page.items);
      expect(page.hasMore).toBe(page.nextCursor !== null);
      if (!page.nextCursor) return seen;
      cursor = page.nextCursor;
    }
    throw new Error('the cursor never ended');
  };

  it('a new database has the seed’s 10 prompt and 8 parameter templates, public, in seed 003’s envelope', async () => {
    const p = await prompts('?limit=100');
    expect(p.total).toBe(10);
    expect(p.items).toHaveLength(10);
    expect(p.items.map((i) => i.sortOrder)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    for (const item of p.items) {
      expect(item.title.length).toBeGreaterThan(0);
      expect(item.prompt).toMatch(/[\u4e00-\u9fff]/); // in the seed's language
      expect(item.tags.length).toBeGreaterThan(0);
      expect(item).toMatchObject({ usageCount: 0, isActive: true });
    }
    expect(new Set(p.items.map((i) => i.category)).size).toBeGreaterThanOrEqual(5);

    const q = await params('?limit=100');
    expect(q.total).toBe(8);
    expect(new Set(q.items.map((i) => i.mode))).toEqual(new Set(['fast', 'standard', 'hd']));
    expect(new Set(q.items.map((i) => i.resolution)).size).toBeGreaterThanOrEqual(6);
    for (const item of q.items) {
      expect(`${item.width}x${item.height}`).toBe(item.resolution);
      expect(item.count).toBeGreaterThanOrEqual(1);
      expect(item.params).toHaveProperty('steps');
    }
    // One template by id; an unknown one is the seed-001 envelope's 404.
    const one = p.items[0]!;
    expect(await get<Prompt>(`/v1/templates/prompts/${one.id}`)).toEqual(one);
    const missing = await call(t.app, 'GET', '/v1/templates/params/no-such-template');
    expect(missing.statusCode).toBe(404);
    expect(missing.json<ErrorBody>()).toMatchObject({
      success: false,
      statusCode: 404,
      code: 'PARAM_TEMPLATE_NOT_FOUND',
      path: '/v1/templates/params/no-such-template',
    });
  });

  it('filters by category; an unknown category is an empty list', async () => {
    const portraits = await prompts('?category=portrait');
    expect(portraits.total).toBe(2);
    expect(portraits.items.every((i) => i.category === 'portrait')).toBe(true);
    const wallpapers = await params('?category=wallpaper');
    expect(wallpapers.items.map((i) => i.resolution).sort()).toEqual(['1024x1792', '1792x1024']);
    expect(await prompts('?category=nothing-here')).toMatchObject({ items: [], total: 0, hasMore: false });
  });

  it('pages by number and by cursor in every order, each template once', async () => {
    const first = await prompts('?page=1&limit=4');
    const third = await prompts('?page=3&limit=4');
    expect(first).toMatchObject({ total: 10, page: 1, limit: 4, hasMore: true });
    expect(third.items).toHaveLength(2);
    expect(third.hasMore).toBe(false);
    for (const sort of ['default', 'trending', 'newest']) {
      const items = await allByCursor<Prompt>('/v1/templates/prompts', `sort=${sort}`);
      expect(items.map((i) => i.id).sort(), sort).toEqual((await prompts('?limit=100')).items.map((i) => i.id).sort());
    }
    const bad = await call(t.app, 'GET', '/v1/templates/prompts?cursor=not-a-cursor');
    expect(bad.statusCode).toBe(400);
    expect(bad.json<ErrorBody>().code).toBe('INVALID_CURSOR');
    const badSort = await call(t.app, 'GET', '/v1/templates/params?sort=random');
    expect(badSort.statusCode).toBe(400);
    expect(badSort.json<ErrorBody>()).toMatchObject({ success: false, code: 'VALIDATION_FAILED' });
  });

  it('counts uses (signed in only); trending lists the most used first', async () => {
    const list = (await prompts('?limit=100')).items;
    const [a, b] = [list[7]!, list[8]!];
    expect((await call(t.app, 'POST', `/v1/templates/prompts/${a.id}/usage`)).statusCode).toBe(401);
    for (let i = 1; i <= 3; i++) {
      const res = await use(a.id);
      expect(res.statusCode).toBe(200);
      expect(res.json<Envelope<{ id: string; usageCount: number }>>().data).toEqual({ id: a.id, usageCount: i });
    }
    expect((await use(b.id)).json<Envelope<{ usageCount: number }>>().data.usageCount).toBe(1);
    const trending = await prompts('?sort=trending&limit=3');
    expect(trending.items.map((i) => [i.id, i.usageCount])).toEqual([
      [a.id, 3],
      [b.id, 1],
      [expect.any(String), 0],
    ]);
    expect((await prompts('?trending=true&limit=3')).items).toEqual(trending.items);

    const unknown = await use('00000000-0000-7000-8000-00000000ffff');
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json<ErrorBody>().code).toBe('PROMPT_TEMPLATE_NOT_FOUND');

    const param = (await params()).items[0]!;
    const used = await use(param.id, user.accessToken, 'params');
    expect(used.json<Envelope<{ usageCount: number }>>().data.usageCount).toBe(param.usageCount + 1);
  });

  it('loses no use when many are counted at once', async () => {
    const target = (await prompts('?limit=100')).items[9]!;
    const before = (await get<Prompt>(`/v1/templates/prompts/${target.id}`)).usageCount;
    const others = await Promise.all([registerUser(t), registerUser(t)]);
    const tokens = [user.accessToken, ...others.map((o) => o.accessToken)];
    const answers = await Promise.all(Array.from({ length: 60 }, (_, i) => use(target.id, tokens[i % tokens.length])));
    expect(answers.map((r) => r.statusCode)).toEqual(Array(60).fill(200));
    // Each call got a count of its own: together exactly the counts from before+1 to before+60.
    const counts = answers.map((r) => r.json<Envelope<{ usageCount: number }>>().data.usageCount).sort((x, y) => x - y);
    expect(counts).toEqual(Array.from({ length: 60 }, (_, i) => before + i + 1));
    expect((await get<Prompt>(`/v1/templates/prompts/${target.id}`)).usageCount).toBe(before + 60);
  });

  it('admins create, change, hide and delete templates (key or session), each change audited', async () => {
    const created = await call(t.app, 'POST', '/v1/admin/templates/prompts', {
      headers: KEY,
      body: { title: '水彩花卉', prompt: '水彩风格的花卉，柔和的晕染', category: 'watercolor', tags: ['水彩'] },
    });
    expect(created.statusCode, created.body).toBe(200);
    const made = created.json<Envelope<Prompt>>().data;
    expect(made).toMatchObject({ title: '水彩花卉', category: 'watercolor', usageCount: 0, isActive: true });
    expect((await prompts('?category=watercolor')).items.map((i) => i.id)).toEqual([made.id]);

    const changed = await call(t.app, 'PUT', `/v1/admin/templates/prompts/${made.id}`, {
      token: admin,
      body: { title: '水彩花卉（新）', isActive: false },
    });
    expect(changed.statusCode, changed.body).toBe(200);
    expect(changed.json<Envelope<Prompt>>().data).toMatchObject({ title: '水彩花卉（新）', isActive: false });
    // Hidden: not listed, not readable, not countable by users; admins still see it.
    expect((await prompts('?category=watercolor')).total).toBe(0);
    expect((await call(t.app, 'GET', `/v1/templates/prompts/${made.id}`)).statusCode).toBe(404);
    expect((await use(made.id)).statusCode).toBe(404);
    const hidden = await get<Page<Prompt>>('/v1/admin/templates/prompts?active=false', admin);
    expect(hidden.items.map((i) => [i.id, i.usageCount])).toEqual([[made.id, 0]]);
    expect((await get<Page<Prompt>>('/v1/admin/templates/prompts?limit=100', admin)).total).toBe(11);

    const removed = await call(t.app, 'DELETE', `/v1/admin/templates/prompts/${made.id}`, { headers: KEY });
    expect(removed.json<Envelope<unknown>>()).toEqual({ success: true, data: { id: made.id, deleted: true } });
    const again = await call(t.app, 'DELETE', `/v1/admin/templates/prompts/${made.id}`, { headers: KEY });
    expect(again.statusCode).toBe(404);
    expect((await get<Page<Prompt>>('/v1/admin/templates/prompts?limit=100', admin)).total).toBe(10);

    const rows = (await auditLog(t.app)).filter((r) => r.target?.id === made.id);
    expect(rows.map((r) => `${r.method} ${r.route} ${r.actor.kind}`).sort()).toEqual([
      'DELETE /v1/admin/templates/prompts/:id adminkey',
      'POST /v1/admin/templates/prompts adminkey',
      'PUT /v1/admin/templates/prompts/:id session',
    ]);
    expect(rows.find((r) => r.method === 'PUT')).toMatchObject({
      target: { type: 'prompt_template' },
      before: { title: '水彩花卉', isActive: true },
      after: { title: '水彩花卉（新）', isActive: false },
    });

    const param = await call(t.app, 'POST', '/v1/admin/templates/params', {
      token: admin,
      body: { name: '方形小图', category: 'general', mode: 'fast', resolution: '640x640', params: { steps: 12 } },
    });
    expect(param.statusCode, param.body).toBe(200);
    const p = param.json<Envelope<Param>>().data;
    expect(p).toMatchObject({ width: 640, height: 640, count: 1, params: { steps: 12 } });
    const edited = await call(t.app, 'PUT', `/v1/admin/templates/params/${p.id}`, {
      headers: KEY,
      body: { count: 2, resolution: '640x960' },
    });
    expect(edited.json<Envelope<Param>>().data).toMatchObject({ count: 2, width: 640, height: 960, name: '方形小图' });
    expect((await call(t.app, 'DELETE', `/v1/admin/templates/params/${p.id}`, { token: admin })).statusCode).toBe(200);
  });

  it('refuses bad input with a clear 400 and changes nothing; plain users get 403', async () => {
    const before = await get<Page<Param>>('/v1/admin/templates/params?limit=100', admin);
    const seedParam = before.items[0]!;
    const attempts: Array<[string, string, unknown, string]> = [
      [
        'POST',
        '/v1/admin/templates/params',
        { name: 'x', category: 'c', mode: 'fast', resolution: '10x10' },
        'PARAM_TEMPLATE_INVALID',
      ],
      [
        'POST',
        '/v1/admin/templates/params',
        { name: 'x', category: 'c', mode: 'fast', resolution: '512x512', params: { count: 9 } },
        'PARAM_TEMPLATE_INVALID',
      ],
      [
        'POST',
        '/v1/admin/templates/params',
        { name: 'x', category: 'c', mode: 'Fast!', resolution: '512x512' },
        'VALIDATION_FAILED',
      ],
      [
        'POST',
        '/v1/admin/templates/params',
        { name: 'x', category: 'c', mode: 'fast', resolution: '512x512', count: 11 },
        'VALIDATION_FAILED',
      ],
      ['POST', '/v1/admin/templates/prompts', { title: '  ', prompt: 'p', category: 'c' }, 'VALIDATION_FAILED'],
      ['POST', '/v1/admin/templates/prompts', { title: 't', prompt: ' \n ', category: 'c' }, 'VALIDATION_FAILED'],
      [
        'POST',
        '/v1/admin/templates/prompts',
        { title: 't', prompt: 'p', category: 'c', coverUrl: 'javascript:alert(1)' },
        'VALIDATION_FAILED',
      ],
      [
        'POST',
        '/v1/admin/templates/prompts',
        { title: 't', prompt: 'p', category: 'c', usageCount: 1000 },
        'VALIDATION_FAILED',
      ],
      ['PUT', `/v1/admin/templates/params/${seedParam.id}`, { params: { 'bad key': 1 } }, 'VALIDATION_FAILED'],
      ['PUT', `/v1/admin/templates/params/${seedParam.id}`, { params: { steps: { deep: 1 } } }, 'VALIDATION_FAILED'],
      ['PUT', `/v1/admin/templates/params/${seedParam.id}`, {}, 'VALIDATION_FAILED'],
      ['PUT', `/v1/admin/templates/params/${seedParam.id}`, { resolution: '9000x512' }, 'PARAM_TEMPLATE_INVALID'],
      ['PUT', '/v1/admin/templates/params/no-such-template', { name: 'n' }, 'PARAM_TEMPLATE_NOT_FOUND'],
      ['PUT', '/v1/admin/templates/prompts/no-such-template', { title: 'n' }, 'PROMPT_TEMPLATE_NOT_FOUND'],
    ];
    for (const [method, url, body, code] of attempts) {
      const res = await call(t.app, method, url, { headers: KEY, body });
      expect(res.json<ErrorBody>().code, `${method} ${url} ${JSON.stringify(body)}`).toBe(code);
      expect(res.statusCode).toBe(code.endsWith('NOT_FOUND') ? 404 : 400);
    }
    const asUser = await call(t.app, 'POST', '/v1/admin/templates/prompts', {
      token: user.accessToken,
      body: { title: 't', prompt: 'p', category: 'c' },
    });
    expect(asUser.statusCode).toBe(403);
    const asNobody = await call(t.app, 'DELETE', `/v1/admin/templates/params/${seedParam.id}`);
    expect(asNobody.statusCode).toBe(401);
    expect(await get<Page<Param>>('/v1/admin/templates/params?limit=100', admin)).toEqual(before);
    expect((await get<Page<Prompt>>('/v1/admin/templates/prompts?limit=100', admin)).total).toBe(10);
  });
});

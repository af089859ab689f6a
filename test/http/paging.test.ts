import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_PAGE, MAX_SKIP } from '#core/http/pagination.ts';
import { startDify, type DifyGateway } from '#test/dify/helpers.ts';
import { backends, call, registerUser, type RegisteredUser } from '#test/helpers/test-app.ts';

type Caller = 'user' | 'admin';
type Shape = 'envelope' | 'fastapi';

/** Every paged list and the paging parameters it takes (the other query parameters it needs, first). */
const LISTS: Array<{ path: string; caller: Caller; shape: Shape; params: string[]; base?: string }> = [
  { path: '/api/credits/history', caller: 'user', shape: 'envelope', params: ['page', 'limit'] },
  { path: '/api/checkin/history', caller: 'user', shape: 'envelope', params: ['page', 'limit'] },
  { path: '/api/usage/logs', caller: 'user', shape: 'envelope', params: ['page', 'limit'] },
  { path: '/api/admin/users/:me/credits/history', caller: 'admin', shape: 'envelope', params: ['page', 'limit'] },
  { path: '/api/admin/redeem-codes', caller: 'admin', shape: 'envelope', params: ['page', 'limit'] },
  { path: '/api/dify/conversations', caller: 'user', shape: 'envelope', params: ['limit'] },
  { path: '/api/dify/messages', caller: 'user', shape: 'envelope', params: ['limit'], base: 'conversation_id=c1' },
  { path: '/api/dify/conversations/c1/variables', caller: 'user', shape: 'envelope', params: ['limit'] },
  { path: '/api/v1/conversations', caller: 'user', shape: 'fastapi', params: ['skip', 'limit'] },
];

/** Not an integer, or an integer out of any list's bounds. */
const BAD = ['1e20', '1e300', '-1', '1.5', 'abc', '0x', 'Infinity', 'NaN', '9007199254740993', '1e15'];

/**
 * Issue 15, item 2: `?page=1e20` on a paged list, or seed 002's `?skip=1e300`, reached the database as
 * an OFFSET (or LIMIT) no database takes: 500 ("datatype mismatch" on SQLite). Every paging parameter
 * is now an integer within bounds, anything else is refused in the surface's shape before the handler.
 */
describe.each(backends())('paging parameters ($label)', (backend) => {
  let g: DifyGateway;
  let user: RegisteredUser;
  const tokens: Record<Caller, string> = { user: '', admin: '' };
  beforeAll(async () => {
    g = await startDify(backend);
    user = await registerUser(g.t);
    tokens.user = user.accessToken;
    tokens.admin = g.admin;
  });
  afterAll(() => g.close());

  const urlOf = (list: (typeof LISTS)[number], query: string) =>
    `${list.path.replace(':me', user.id)}?${[list.base, query].filter(Boolean).join('&')}`;

  it.each(LISTS)('$path refuses every bad $params with a 4xx in its shape', async (list) => {
    for (const param of list.params) {
      for (const value of BAD) {
        const res = await call(g.t.app, 'GET', urlOf(list, `${param}=${value}`), {
          token: tokens[list.caller],
          lang: 'en',
        });
        const what = `${param}=${value} → ${res.statusCode} ${res.body.slice(0, 200)}`;
        if (list.shape === 'fastapi') {
          // Seed 002 is a FastAPI app: a query that breaks its schema is 422 {detail}, as FastAPI answers it.
          expect(res.statusCode, what).toBe(422);
          expect(res.json<{ detail: string }>().detail, what).toMatch(new RegExp(`^Invalid request: ${param}`));
        } else {
          expect(res.statusCode, what).toBe(400);
          expect(res.json(), what).toMatchObject({
            success: false,
            statusCode: 400,
            code: 'VALIDATION_FAILED',
            message: expect.stringMatching(new RegExp(`^Invalid request: ${param}`)),
          });
        }
      }
    }
  });

  it('takes the largest page and skip there are, and answers an empty page', async () => {
    const credits = await call(g.t.app, 'GET', `/api/credits/history?page=${MAX_PAGE}&limit=100`, {
      token: user.accessToken,
    });
    expect(credits.statusCode, credits.body).toBe(200);
    expect(credits.json()).toMatchObject({ items: [], total: 1, page: MAX_PAGE, limit: 100 });
    expect(
      (await call(g.t.app, 'GET', `/api/credits/history?page=${MAX_PAGE + 1}`, { token: user.accessToken })).statusCode,
    ).toBe(400);

    const conversations = await call(g.t.app, 'GET', `/api/v1/conversations?skip=${MAX_SKIP}&limit=100`, {
      token: user.accessToken,
    });
    expect(conversations.statusCode, conversations.body).toBe(200);
    expect(conversations.json()).toEqual([]);
    expect(
      (await call(g.t.app, 'GET', `/api/v1/conversations?skip=${MAX_SKIP + 1}`, { token: user.accessToken }))
        .statusCode,
    ).toBe(422);

    // A number written as an exponent is still the integer it names.
    const exponent = await call(g.t.app, 'GET', '/api/credits/history?page=1e0&limit=1e1', { token: user.accessToken });
    expect(exponent.json()).toMatchObject({ page: 1, limit: 10 });
  });
});

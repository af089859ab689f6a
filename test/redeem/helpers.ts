import { expect } from 'vitest';
import { LONG_SESSIONS } from '#test/helpers/clock.ts';
import { ADMIN_ENV, call, freshIp, registerUser, type RegisteredUser, type TestApp } from '#test/helpers/test-app.ts';

export { DAY } from '#test/checkin/helpers.ts';

/** The admin's first user plus sessions that survive the clock walking past code expiries. */
export const REDEEM_ENV = { ...ADMIN_ENV, ...LONG_SESSIONS };

/** Crockford base32: digits and upper-case letters without I, L, O and U. */
export const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
export const CODE_FORMAT =
  /^TG-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$/;

export const MESSAGES = {
  invalid: '兑换码无效',
  used: '兑换码已被使用',
  expired: '兑换码已过期',
  disabled: '兑换码已停用',
  again: '您已使用过该兑换码',
  forbidden: '没有权限执行此操作',
  notFound: '资源不存在',
};

export interface CodeView {
  id: string;
  batchId: string;
  code: string;
  credits: number;
  maxUses: number;
  usedCount: number;
  state: string;
  expiresAt: string | null;
  disabledAt: string | null;
  note: string | null;
  createdAt: string;
}

/** Creates a batch as the admin; fails the test unless it is made. */
export async function makeCodes(
  t: TestApp,
  admin: string,
  body: Record<string, unknown>,
): Promise<{ batchId: string; codes: CodeView[] }> {
  const res = await call(t.app, 'POST', '/api/admin/redeem-codes', { token: admin, body });
  expect(res.statusCode, res.body).toBe(200);
  return res.json();
}

/** One fresh single-use code worth `credits`. */
export async function oneCode(t: TestApp, admin: string, body: Record<string, unknown> = {}): Promise<CodeView> {
  return (await makeCodes(t, admin, { count: 1, credits: 100, ...body })).codes[0]!;
}

export function redeem(t: TestApp, user: RegisteredUser, code: string, ip: string = freshIp()) {
  return call(t.app, 'POST', '/api/credits/redeem', { token: user.accessToken, body: { code }, ip });
}

/** Signs `n` users up, a few at a time. */
export async function registerUsers(t: TestApp, n: number): Promise<RegisteredUser[]> {
  const users: RegisteredUser[] = [];
  while (users.length < n)
    users.push(...(await Promise.all(Array.from({ length: Math.min(10, n - users.length) }, () => registerUser(t)))));
  return users;
}

const db = (t: TestApp) => t.app.services.database.db;

export function codeRow(t: TestApp, id: string) {
  return db(t).selectFrom('redeem_codes').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
}

/** Everything a redeem or an admin action could change, to prove a refusal changed nothing. */
export async function snapshot(t: TestApp) {
  const [codes, redemptions, ledger, accounts] = await Promise.all([
    db(t).selectFrom('redeem_codes').select(['id', 'used_count', 'disabled_at', 'expires_at']).orderBy('id').execute(),
    db(t).selectFrom('redemptions').select(['id', 'code_id', 'user_id']).orderBy('id').execute(),
    db(t).selectFrom('credit_ledger').select(['id', 'amount']).orderBy('id').execute(),
    db(t).selectFrom('credit_accounts').select(['user_id', 'balance']).orderBy('user_id').execute(),
  ]);
  return { codes, redemptions, ledger, accounts };
}

/** The user's `redeem` ledger rows. */
export function redeemLedger(t: TestApp, userId: string) {
  return db(t)
    .selectFrom('credit_ledger')
    .selectAll()
    .where('user_id', '=', userId)
    .where('kind', '=', 'redeem')
    .execute();
}

/** RFC 4180: rows of fields; a quoted field may hold commas, doubled quotes and line breaks. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c !== '"') field += c;
      else if (text[i + 1] === '"') {
        field += '"';
        i++;
      } else quoted = false;
    } else if (c === '"') {
      quoted = true;
    } else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\r' && text[i + 1] === '\n') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
      i++;
    } else {
      field += c;
    }
  }
  if (field !== '' || row.length > 0) rows.push([...row, field]);
  return rows;
}

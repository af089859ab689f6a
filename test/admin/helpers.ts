import type { LightMyRequestResponse } from 'fastify';
import { expect } from 'vitest';
import type { App } from '#core/http/route-config.ts';
import { ADMIN_ENV, call, freshIp, type CallOptions } from '#test/helpers/test-app.ts';

/** A strong admin key (ADMIN_API_KEY) for the tests. */
export const ADMIN_KEY = 'test-admin-key-0123456789-abcdefghijklmnop';

/** The environment of an app with the first admin and the admin key. */
export const ADMIN_KEY_ENV = { ...ADMIN_ENV, ADMIN_API_KEY: ADMIN_KEY };

/** A request made with `X-Admin-Key` (the right key unless another is given), from an address of its own. */
export function withKey(
  app: App,
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
  url: string,
  options: CallOptions & { key?: string } = {},
): Promise<LightMyRequestResponse> {
  const { key = ADMIN_KEY, ...rest } = options;
  return call(app, method, url, { ip: freshIp(), ...rest, headers: { ...rest.headers, 'x-admin-key': key } });
}

export interface AuditItemView {
  id: string;
  createdAt: string;
  actor: { kind: 'session' | 'adminkey'; userId: string | null };
  action: string;
  method: string;
  route: string;
  params: Record<string, unknown> | null;
  target: { type: string; id: string | null } | null;
  before: unknown;
  after: unknown;
  status: number;
  ip: string;
  requestId: string;
}

/** The audit log as the admin reads it: GET /api/admin/audit with `query`, newest first. */
export async function auditLog(app: App, query = ''): Promise<AuditItemView[]> {
  const res = await withKey(app, 'GET', `/api/admin/audit?limit=100${query ? `&${query}` : ''}`);
  expect(res.statusCode, res.body).toBe(200);
  return res.json<{ items: AuditItemView[] }>().items;
}

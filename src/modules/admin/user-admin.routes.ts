import type { FastifyRequest } from 'fastify';
import { CursorPaged, decodeCursor } from '#core/http/pagination.ts';
import type { App } from '#core/http/route-config.ts';
import type { UserRow } from '#modules/users/users.tables.ts';
import { auditDetail } from './audit.ts';
import {
  AdminUserDetail,
  AdminUserView,
  auditedFields,
  changesOf,
  Deleted,
  RoleBody,
  SessionsEnded,
  toAdminUser,
  UserIdParams,
  UserListQuery,
  UserUpdateBody,
} from './user-admin.schemas.ts';
import type { UserAdminService } from './user-admin.service.ts';

/** The list query as the service takes it: only the filters given, the cursor decoded (400 INVALID_CURSOR). */
export function listArguments(query: UserListQuery) {
  const { page, limit, cursor, search, role, status, deleted } = query;
  return {
    filter: {
      ...(search !== undefined ? { search } : {}),
      ...(role !== undefined ? { role } : {}),
      ...(status !== undefined ? { status } : {}),
      ...(deleted !== undefined ? { deleted } : {}),
    },
    paging: { page, limit, ...(cursor !== undefined ? { cursor: decodeCursor(cursor) } : {}) },
  };
}

/** One page of the user list, as both surfaces answer it. */
export function userPage(
  result: { rows: UserRow[]; total: number; nextCursor: string | null; hasMore: boolean },
  query: { page: number; limit: number },
) {
  const { total, nextCursor, hasMore } = result;
  return { items: result.rows.map(toAdminUser), total, page: query.page, limit: query.limit, nextCursor, hasMore };
}

/** A user change in the audit log: the account's role, status, email and username before and after. */
export function auditUserChange(
  request: FastifyRequest,
  change: { before: UserRow; after: UserRow; sessionsEnded?: number },
): void {
  auditDetail(request, {
    targetType: 'user',
    targetId: change.after.id,
    before: auditedFields(change.before),
    after: { ...auditedFields(change.after), ...(change.sessionsEnded ? { sessionsEnded: change.sessionsEnded } : {}) },
  });
}

/**
 * A deletion's audit row and answer. The row keeps no personal data of the account (it was just
 * erased): its role and status before, and what the deletion did.
 */
export function deletion(
  request: FastifyRequest,
  result: { before: UserRow; after: UserRow; sessionsEnded: number; keysRemoved: number },
) {
  const { before, after, sessionsEnded, keysRemoved } = result;
  auditDetail(request, {
    targetType: 'user',
    targetId: after.id,
    before: { role: before.role, status: before.status },
    after: { status: after.status, deleted: true, sessionsEnded, keysRemoved },
  });
  return { id: after.id, deletedAt: new Date(Number(after.deleted_at)).toISOString(), sessionsEnded, keysRemoved };
}

/** The console's user management (docs/admin.md): list, read, change, disable/enable, role, sessions. */
export function registerUserAdminRoutes(app: App, admin: UserAdminService): void {
  const config = { access: 'admin' as const };
  const tags = ['admin'];
  const security = [{ bearer: [] }];
  const params = UserIdParams;
  const detailOf = async (id: string) => {
    const detail = await admin.detail(id);
    return { ...toAdminUser(detail.user), credits: detail.credits };
  };

  app.get(
    '/api/admin/users',
    {
      config,
      schema: {
        tags,
        security,
        summary: 'Accounts, newest first: search by id, email or username; filter by role and status',
        querystring: UserListQuery,
        response: { 200: CursorPaged(AdminUserView) },
      },
    },
    async (request) => {
      const { filter, paging } = listArguments(request.query);
      return userPage(await admin.list(filter, paging), request.query);
    },
  );

  app.get(
    '/api/admin/users/:id',
    { config, schema: { tags, security, summary: 'One account', params, response: { 200: AdminUserDetail } } },
    (request) => detailOf(request.params.id),
  );

  app.put(
    '/api/admin/users/:id',
    {
      config,
      schema: {
        tags,
        security,
        summary: 'Change an account (email, username, role, status); absent fields stay',
        params,
        body: UserUpdateBody,
        response: { 200: AdminUserDetail },
      },
    },
    async (request) => {
      auditUserChange(request, await admin.update(request.params.id, changesOf(request.body)));
      return detailOf(request.params.id);
    },
  );

  app.delete(
    '/api/admin/users/:id',
    {
      config,
      schema: {
        tags,
        security,
        summary:
          'Delete an account: personal data erased, sessions ended, keys deleted; its ledger and usage stay (docs/admin.md)',
        params,
        response: { 200: Deleted },
      },
    },
    async (request) => deletion(request, await admin.remove(request.params.id)),
  );

  for (const [action, status] of [
    ['disable', 'disabled'],
    ['enable', 'active'],
  ] as const) {
    app.post(
      `/api/admin/users/:id/${action}`,
      {
        config,
        schema: {
          tags,
          security,
          summary:
            action === 'disable'
              ? 'Disable an account: its sessions end and its API keys are refused, on every instance'
              : 'Enable a disabled account again (its user signs in again)',
          params,
          response: { 200: AdminUserDetail },
        },
      },
      async (request) => {
        auditUserChange(request, await admin.update(request.params.id, { status }));
        return detailOf(request.params.id);
      },
    );
  }

  app.put(
    '/api/admin/users/:id/role',
    {
      config,
      schema: {
        tags,
        security,
        summary: "Make an account an admin or a user (never the last active admin's)",
        params,
        body: RoleBody,
        response: { 200: AdminUserDetail },
      },
    },
    async (request) => {
      auditUserChange(request, await admin.setRole(request.params.id, request.body.role));
      return detailOf(request.params.id);
    },
  );

  app.delete(
    '/api/admin/users/:id/sessions',
    {
      config,
      schema: {
        tags,
        security,
        summary: 'Sign the user out everywhere (every session ends; API keys are not touched)',
        params,
        response: { 200: SessionsEnded },
      },
    },
    async (request) => {
      const sessionsEnded = await admin.endSessions(request.params.id);
      auditDetail(request, { targetType: 'user', targetId: request.params.id, after: { sessionsEnded } });
      return { sessionsEnded };
    },
  );
}

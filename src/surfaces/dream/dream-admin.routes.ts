import { CursorPaged } from '#core/http/pagination.ts';
import type { App } from '#core/http/route-config.ts';
import { auditUserChange, deletion, listArguments, userPage } from '#modules/admin/user-admin.routes.ts';
import {
  AdminUserDetail,
  AdminUserView,
  changesOf,
  Deleted,
  StatsView,
  toAdminUser,
  UserIdParams,
  UserListQuery,
  UserUpdateBody,
} from '#modules/admin/user-admin.schemas.ts';
import type { UserAdminService } from '#modules/admin/user-admin.service.ts';
import { Ok, ok } from './envelope.ts';

/**
 * Seed 003's admin API (`X-Admin-Key`, or an admin's session): users and the dashboard's statistics,
 * over the same service as the console's /api/admin/users. Its two /vip routes live with the plans
 * (dream-vip.routes.ts). docs/seed-003.md shows each with an example.
 */
export function registerDreamAdminRoutes(app: App, admin: UserAdminService): void {
  const config = { access: 'admin' as const };
  const tags = ['seed 003 (Dream): admin'];
  const security = [{ bearer: [] }];
  const params = UserIdParams;
  const detailOf = async (id: string) => {
    const detail = await admin.detail(id);
    return ok({ ...toAdminUser(detail.user), credits: detail.credits });
  };

  app.get(
    '/v1/admin/users',
    {
      config,
      schema: {
        tags,
        security,
        summary: 'Users, newest first (pagination or cursor; search by id, email or username)',
        querystring: UserListQuery,
        response: { 200: Ok(CursorPaged(AdminUserView)) },
      },
    },
    async (request) => {
      const { filter, paging } = listArguments(request.query);
      return ok(userPage(await admin.list(filter, paging), request.query));
    },
  );

  app.get(
    '/v1/admin/users/:id',
    { config, schema: { tags, security, summary: 'User detail', params, response: { 200: Ok(AdminUserDetail) } } },
    (request) => detailOf(request.params.id),
  );

  app.put(
    '/v1/admin/users/:id',
    {
      config,
      schema: {
        tags,
        security,
        summary: 'Update user info; absent fields stay',
        params,
        body: UserUpdateBody,
        response: { 200: Ok(AdminUserDetail) },
      },
    },
    async (request) => {
      auditUserChange(request, await admin.update(request.params.id, changesOf(request.body)));
      return detailOf(request.params.id);
    },
  );

  app.delete(
    '/v1/admin/users/:id',
    {
      config,
      schema: {
        tags,
        security,
        summary: 'Delete user: personal data erased, books kept (docs/admin.md)',
        params,
        response: { 200: Ok(Deleted) },
      },
    },
    async (request) => ok(deletion(request, await admin.remove(request.params.id))),
  );

  app.get(
    '/v1/admin/stats',
    { config, schema: { tags, security, summary: 'Dashboard statistics', response: { 200: Ok(StatsView) } } },
    async () => ok(await admin.stats()),
  );
}

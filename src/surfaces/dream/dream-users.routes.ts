import { Type } from 'typebox';
import { AppError } from '#core/errors.ts';
import { principalOf } from '#core/http/principal.ts';
import type { App } from '#core/http/route-config.ts';
import type { UsersService } from '#modules/users/users.service.ts';
import { Ok, ok } from './envelope.ts';
import { DreamPublicUser, DreamUser, toDreamPublicUser, toDreamUser } from './dream-users.schemas.ts';

/** Seed 003's GET /v1/users/:id: public fields for others, everything for oneself and admins (docs/seed-003.md). */
export function registerDreamUsersRoutes(app: App, deps: { users: UsersService }): void {
  app.get(
    '/v1/users/:id',
    {
      config: { access: 'user' },
      schema: {
        tags: ['seed 003 (Dream)'],
        summary:
          'A user by id: public fields (id, nickname, avatarUrl, createdAt) for others, everything for oneself and admins',
        security: [{ bearer: [] }],
        params: Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) }),
        response: { 200: Ok(Type.Union([DreamUser, DreamPublicUser])) },
      },
    },
    async (request) => {
      const principal = principalOf(request);
      const user = await deps.users.findById(request.params.id);
      if (!user || user.deleted_at !== null) throw new AppError('NOT_FOUND');
      const everything = principal.userId === user.id || principal.role === 'admin';
      return ok(everything ? toDreamUser(user) : toDreamPublicUser(user));
    },
  );
}

import type { App } from '#core/http/route-config.ts';
import { ProfileSchema, toProfile } from './users.schemas.ts';
import type { UsersService } from './users.service.ts';
import { principalOf } from '#core/http/principal.ts';

export function registerUsersRoutes(app: App, users: UsersService): void {
  app.get(
    '/api/user/profile',
    {
      config: { access: 'user' },
      schema: {
        tags: ['user'],
        summary: 'The signed-in user (seed 001 §5.1)',
        security: [{ bearer: [] }],
        response: { 200: ProfileSchema },
      },
    },
    async (request) => toProfile(await users.require(principalOf(request).userId)),
  );
}

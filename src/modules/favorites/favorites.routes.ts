import { CursorPaged } from '#core/http/pagination.ts';
import { principalOf } from '#core/http/principal.ts';
import type { App } from '#core/http/route-config.ts';
import { Ok, ok } from '#src/surfaces/dream/envelope.ts';
import {
  AddFavoriteBody,
  FavoriteCheck,
  FavoriteCheckQuery,
  FavoriteListQuery,
  FavoriteParams,
  FavoriteRemoved,
  FavoriteSchema,
} from './favorites.schemas.ts';
import type { FavoritesService } from './favorites.service.ts';

/**
 * Seed 003's four favorites routes (docs/seed-003.md, Favorites): the caller's own favorite images and
 * prompt templates. Another user's favorite is 404. Seed 003's envelope on every answer.
 */
export function registerFavoritesRoutes(app: App, favorites: FavoritesService): void {
  const config = { access: 'user' as const };
  const schema = { tags: ['favorites'], security: [{ bearer: [] }] };
  const me = (request: Parameters<typeof principalOf>[0]) => principalOf(request).userId;

  app.post(
    '/v1/favorites',
    {
      config,
      schema: {
        ...schema,
        summary: 'Add a favorite (a gallery image or a prompt template): 201 new, 200 when it was a favorite already',
        body: AddFavoriteBody,
        response: { 200: Ok(FavoriteSchema), 201: Ok(FavoriteSchema) },
      },
    },
    async (request, reply) => {
      const { favorite, created } = await favorites.add(me(request), request.body);
      return reply.status(created ? 201 : 200).send(ok(favorite));
    },
  );

  app.delete(
    '/v1/favorites/:id',
    {
      config,
      schema: {
        ...schema,
        summary: 'Remove one of my favorites',
        params: FavoriteParams,
        response: { 200: Ok(FavoriteRemoved) },
      },
    },
    async (request) => ok(await favorites.remove(me(request), request.params.id)),
  );

  app.get(
    '/v1/favorites',
    {
      config,
      schema: {
        ...schema,
        summary: 'My favorites, newest first (type filter; page or cursor), each with what it points at',
        querystring: FavoriteListQuery,
        response: { 200: Ok(CursorPaged(FavoriteSchema)) },
      },
    },
    async (request) => ok(await favorites.list(me(request), request.query)),
  );

  app.get(
    '/v1/favorites/check',
    {
      config,
      schema: {
        ...schema,
        summary: 'Whether I have this image or prompt template as a favorite, and the favorite’s id',
        querystring: FavoriteCheckQuery,
        response: { 200: Ok(FavoriteCheck) },
      },
    },
    async (request) => ok(await favorites.check(me(request), request.query.type, request.query.targetId)),
  );
}

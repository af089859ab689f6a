import { readFileSync } from 'node:fs';
import { Type } from 'typebox';
import { AppError } from '#core/errors.ts';
import { CursorPaged } from '#core/http/pagination.ts';
import { principalOf } from '#core/http/principal.ts';
import type { App } from '#core/http/route-config.ts';
import { auditDetail } from '#modules/admin/audit.ts';
import { GALLERY_ASSETS_PATH, SEED_GALLERY } from '#migrations/20261207_0015_gallery_favorites.ts';
import { Ok, ok } from '#src/surfaces/dream/envelope.ts';
import {
  GalleryCategorySchema,
  GalleryImageParams,
  GalleryImageSchema,
  GalleryListQuery,
  LikeResult,
  PublishBody,
} from './gallery.schemas.ts';
import type { GalleryService } from './gallery.service.ts';

/** The seed images' files, shipped in the repository: served by Tollgate, so a fresh install shows them. */
const ASSETS_DIR = new URL('../../../assets/gallery/', import.meta.url);

/**
 * Seed 003's gallery (docs/seed-003.md, Gallery): the public list and categories, likes and publishing
 * (signed in), admins taking an image down under /v1/admin (a session or X-Admin-Key; audited with the
 * image before and after), and the seed images' files. Seed 003's envelope on every answer.
 */
export function registerGalleryRoutes(app: App, gallery: GalleryService): void {
  const security = [{ bearer: [] }];
  const tags = ['gallery'];
  const me = (request: Parameters<typeof principalOf>[0]) => principalOf(request).userId;

  app.get(
    '/v1/gallery/images',
    {
      config: { access: 'public' },
      schema: {
        tags,
        summary: 'Published images, newest or most liked first (category filter; page or cursor)',
        description:
          '`sort`: newest (default) or popular (most liked first). Page by `page` or by `cursor` (the previous ' +
          'page’s `nextCursor`, with the same category and sort).',
        querystring: GalleryListQuery,
        response: { 200: Ok(CursorPaged(GalleryImageSchema)) },
      },
    },
    async (request) => ok(await gallery.list(request.query)),
  );

  app.get(
    '/v1/gallery/categories',
    {
      config: { access: 'public' },
      schema: {
        tags,
        summary: 'The gallery’s categories with their numbers of published images',
        response: { 200: Ok(Type.Array(GalleryCategorySchema)) },
      },
    },
    async () => ok(await gallery.categories()),
  );

  app.post(
    '/v1/gallery/images/:id/like',
    {
      config: { access: 'user' },
      schema: {
        tags,
        security,
        summary: 'Like an image (liking again changes nothing); the like count after it',
        params: GalleryImageParams,
        response: { 200: Ok(LikeResult) },
      },
    },
    async (request) => ok(await gallery.like(me(request), request.params.id)),
  );

  app.delete(
    '/v1/gallery/images/:id/like',
    {
      config: { access: 'user' },
      schema: {
        tags,
        security,
        summary: 'Take a like back (when there is none, nothing changes); the like count after it',
        params: GalleryImageParams,
        response: { 200: Ok(LikeResult) },
      },
    },
    async (request) => ok(await gallery.unlike(me(request), request.params.id)),
  );

  app.post(
    '/v1/gallery/publish',
    {
      config: { access: 'user' },
      schema: {
        tags,
        security,
        summary: 'Publish one of my images (a job result or an upload) with a title, category and prompt',
        body: PublishBody,
        response: { 201: Ok(GalleryImageSchema) },
      },
    },
    async (request, reply) => reply.status(201).send(ok(await gallery.publish(me(request), request.body))),
  );

  app.delete(
    '/v1/admin/gallery/images/:id',
    {
      config: { access: 'admin' },
      schema: {
        tags: ['admin'],
        security,
        summary: 'Take an image down from the gallery (its stored object stays the owner’s)',
        params: GalleryImageParams,
        response: { 200: Ok(GalleryImageSchema) },
      },
    },
    async (request) => {
      const { before, after } = await gallery.unpublish(request.params.id);
      auditDetail(request, {
        targetType: 'gallery_image',
        targetId: after.id,
        action: 'gallery.unpublish',
        before,
        after,
      });
      return ok(after);
    },
  );

  const files = new Map<string, Buffer>(
    SEED_GALLERY.map((image) => [image.file, readFileSync(new URL(image.file, ASSETS_DIR))]),
  );
  app.get(
    `${GALLERY_ASSETS_PATH}/:file`,
    {
      config: { access: 'public' },
      schema: {
        tags,
        summary: 'The seed gallery images’ files',
        params: Type.Object({ file: Type.String({ maxLength: 64 }) }),
      },
    },
    async (request, reply) => {
      const body = files.get(request.params.file);
      if (!body) throw new AppError('NOT_FOUND');
      return reply
        .header('content-type', 'image/png')
        .header('cache-control', 'public, max-age=86400')
        .header('x-content-type-options', 'nosniff')
        .header('cross-origin-resource-policy', 'cross-origin')
        .send(body);
    },
  );
}

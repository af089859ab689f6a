import { AppError } from '#core/errors.ts';
import { CursorPageQuery, CursorPaged } from '#core/http/pagination.ts';
import { principalOf } from '#core/http/principal.ts';
import type { App } from '#core/http/route-config.ts';
import { base64BodyLimit } from '#modules/storage/storage.routes.ts';
import { Ok, ok } from '#src/surfaces/dream/envelope.ts';
import {
  AddPhotoUrlBody,
  CharacterParams,
  CharacterSchema,
  CreateCharacterBody,
  Deleted,
  PhotoParams,
  PhotoSchema,
  UpdateCharacterBody,
  UploadPhotoBody,
} from './characters.schemas.ts';
import type { CharactersService } from './characters.service.ts';

/**
 * Seed 003's nine character routes (锁脸角色, face-lock): the caller's own characters and their photos.
 * Anyone else's character is 404. docs/seed-003.md.
 */
export function registerCharacterRoutes(app: App, characters: CharactersService, maxImageBytes: number): void {
  const base = { config: { access: 'user' as const } };
  const schema = { tags: ['characters'], security: [{ bearer: [] }] };
  const me = (request: Parameters<typeof principalOf>[0]) => principalOf(request).userId;

  app.get(
    '/v1/characters',
    {
      ...base,
      schema: {
        ...schema,
        summary: 'My characters, newest first (page or cursor)',
        querystring: CursorPageQuery,
        response: { 200: Ok(CursorPaged(CharacterSchema)) },
      },
    },
    async (request) => ok(await characters.list(me(request), request.query)),
  );

  app.post(
    '/v1/characters',
    {
      ...base,
      schema: {
        ...schema,
        summary: 'Create a character',
        body: CreateCharacterBody,
        response: { 200: Ok(CharacterSchema) },
      },
    },
    async (request) => ok(await characters.create(me(request), request.body)),
  );

  app.get(
    '/v1/characters/:id',
    {
      ...base,
      schema: {
        ...schema,
        summary: 'One of my characters, with its photos',
        params: CharacterParams,
        response: { 200: Ok(CharacterSchema) },
      },
    },
    async (request) => ok(await characters.get(me(request), request.params.id)),
  );

  app.put(
    '/v1/characters/:id',
    {
      ...base,
      schema: {
        ...schema,
        summary: 'Rename or describe a character',
        params: CharacterParams,
        body: UpdateCharacterBody,
        response: { 200: Ok(CharacterSchema) },
      },
    },
    async (request) => ok(await characters.update(me(request), request.params.id, request.body)),
  );

  app.delete(
    '/v1/characters/:id',
    {
      ...base,
      schema: {
        ...schema,
        summary: 'Delete a character, its photos and their stored images',
        params: CharacterParams,
        response: { 200: Ok(Deleted) },
      },
    },
    async (request) => {
      await characters.delete(me(request), request.params.id);
      return ok({ deleted: true });
    },
  );

  app.post(
    '/v1/characters/:id/photos/upload',
    {
      ...base,
      bodyLimit: base64BodyLimit(maxImageBytes),
      schema: {
        ...schema,
        summary: `Upload a photo (base64 {image}; PNG, JPEG, WebP, GIF; at most ${characters.maxPhotos} per character)`,
        params: CharacterParams,
        body: UploadPhotoBody,
        response: { 200: Ok(PhotoSchema) },
      },
    },
    async (request) => {
      const text = request.body.image ?? request.body.base64;
      if (text === undefined) throw new AppError('IMAGE_REQUIRED');
      return ok(await characters.uploadPhoto(me(request), request.params.id, text));
    },
  );

  app.post(
    '/v1/characters/:id/photos',
    {
      ...base,
      schema: {
        ...schema,
        summary: 'Add a photo by URL (https, public host; kept as given)',
        params: CharacterParams,
        body: AddPhotoUrlBody,
        response: { 200: Ok(PhotoSchema) },
      },
    },
    async (request) => ok(await characters.addPhotoUrl(me(request), request.params.id, request.body.url)),
  );

  app.get(
    '/v1/characters/:id/photos/:photoId',
    {
      ...base,
      schema: {
        ...schema,
        summary: 'One photo of my character',
        params: PhotoParams,
        response: { 200: Ok(PhotoSchema) },
      },
    },
    async (request) => ok(await characters.getPhoto(me(request), request.params.id, request.params.photoId)),
  );

  app.delete(
    '/v1/characters/:id/photos/:photoId',
    {
      ...base,
      schema: {
        ...schema,
        summary: 'Delete a photo (its stored image is removed)',
        params: PhotoParams,
        response: { 200: Ok(Deleted) },
      },
    },
    async (request) => {
      await characters.deletePhoto(me(request), request.params.id, request.params.photoId);
      return ok({ deleted: true });
    },
  );
}

import multipart from '@fastify/multipart';
import type { FastifyRequest } from 'fastify';
import { AppError } from '#core/errors.ts';
import { principalOf } from '#core/http/principal.ts';
import type { App } from '#core/http/route-config.ts';
import { Ok, ok } from '#src/surfaces/dream/envelope.ts';
import { UPLOADS_PREFIX } from './storage.factory.ts';
import { ObjectPath, UploadSchema } from './storage.schemas.ts';
import type { StorageService } from './storage.service.ts';

/** Multipart limits past `fileSize`: their own 413 stays. */
const LIMIT_CODES = new Set(['FST_PARTS_LIMIT', 'FST_FILES_LIMIT', 'FST_FIELDS_LIMIT']);
const BOUNDARY = /;\s*boundary=("[^"]+"|[^;\s]+)/i;
/** The multipart fields an image is read from, the first that has one. */
const FILE_FIELDS = new Set(['file', 'image']);

/** The bytes of a multipart upload (field `file` or `image`), or the 4xx that says why there are none. */
async function multipartImage(request: FastifyRequest, maxBytes: number): Promise<Buffer> {
  if (!BOUNDARY.test(request.headers['content-type'] ?? '')) throw new AppError('MALFORMED_UPLOAD');
  let file: Buffer | undefined;
  try {
    for await (const part of request.parts()) {
      if (part.type !== 'file') continue;
      const bytes = await part.toBuffer();
      if (!file && FILE_FIELDS.has(part.fieldname)) file = bytes;
    }
  } catch (error) {
    if (error instanceof AppError) throw error;
    const code = (error as { code?: unknown } | null)?.code;
    if (code === 'FST_REQ_FILE_TOO_LARGE') throw new AppError('IMAGE_TOO_LARGE', { max: maxBytes });
    if (typeof code === 'string' && LIMIT_CODES.has(code)) throw error;
    throw new AppError('MALFORMED_UPLOAD');
  }
  if (!file || file.length === 0) throw new AppError('IMAGE_REQUIRED');
  return file;
}

/** The largest JSON body an upload route takes: the image as base64 plus room for the rest. */
export function base64BodyLimit(maxBytes: number): number {
  return Math.ceil(maxBytes / 3) * 4 + 64 * 1024;
}

/**
 * `POST /v1/upload/image` (seed 003): an image as multipart (field `file`) or JSON base64 (`image`),
 * checked by its bytes and stored; and `GET /uploads/<key>`, where Tollgate serves stored objects with
 * the type their bytes were sniffed as (docs/storage.md).
 */
export async function registerStorageRoutes(app: App, storage: StorageService): Promise<void> {
  const maxBytes = storage.limits.maxBytes;

  await app.register(async (scope: App) => {
    // Multipart is for this route only; elsewhere it stays an unsupported type.
    await scope.register(multipart, {
      limits: { fileSize: maxBytes, files: 1, fields: 10, fieldSize: 1024, parts: 11 },
    });
    scope.post(
      '/v1/upload/image',
      {
        config: { access: 'user' },
        bodyLimit: base64BodyLimit(maxBytes),
        schema: {
          tags: ['upload'],
          security: [{ bearer: [] }],
          summary: 'Upload an image (multipart field file, or JSON {image: base64}); PNG, JPEG, WebP, GIF',
          response: { 200: Ok(UploadSchema) },
        },
      },
      async (request) => {
        const userId = principalOf(request).userId;
        let bytes: Buffer;
        if (request.isMultipart()) bytes = await multipartImage(request, maxBytes);
        else {
          const body: unknown = request.body;
          if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new AppError('IMAGE_REQUIRED');
          const { image, base64 } = body as { image?: unknown; base64?: unknown };
          const text = image ?? base64;
          if (typeof text !== 'string') throw new AppError('IMAGE_REQUIRED');
          bytes = storage.decodeBase64(text);
        }
        return ok(await storage.upload(userId, bytes));
      },
    );
  });

  app.get(
    `${UPLOADS_PREFIX}/:folder/:year/:month/:file`,
    {
      config: { access: 'public' },
      schema: {
        tags: ['upload'],
        summary: 'A stored object (an uploaded image, a character photo), with the type its bytes were sniffed as',
        params: ObjectPath,
      },
    },
    async (request, reply) => {
      const { folder, year, month, file } = request.params;
      const object = await storage.read(`${folder}/${year}/${month}/${file}`);
      if (!object) throw new AppError('NOT_FOUND');
      return reply
        .header('content-type', object.contentType)
        .header('cache-control', 'public, max-age=31536000, immutable')
        .header('x-content-type-options', 'nosniff')
        .header('content-security-policy', "default-src 'none'; sandbox")
        .header('cross-origin-resource-policy', 'cross-origin')
        .send(object.body);
    },
  );
}

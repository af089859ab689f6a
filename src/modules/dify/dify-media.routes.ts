import type { FastifyRequest } from 'fastify';
import { FormData } from 'undici';
import { AppError } from '#core/errors.ts';
import type { App } from '#core/http/route-config.ts';
import { meterFlat } from './dify-calls.ts';
import { callerOf, DIFY_ACCESS, DIFY_SECURITY, DIFY_TAGS, requestedApp, type DifyRouteDeps } from './dify.routes.ts';
import { TextToAudioBody } from './dify.schemas.ts';
import { DifyService } from './dify.service.ts';

interface Upload {
  file: Buffer;
  filename: string;
  mimeType: string;
}

/** The multipart plugin's limits past `fileSize` (parts, fields, files): their own 413 stays. */
const UPLOAD_LIMIT_CODES = new Set(['FST_PARTS_LIMIT', 'FST_FILES_LIMIT', 'FST_FIELDS_LIMIT']);
/** A multipart Content-Type's boundary parameter, not empty (without one no part can be found). */
const BOUNDARY = /;\s*boundary=("[^"]+"|[^;\s]+)/i;

/**
 * What went wrong reading an upload, as the client's error: a file over the limit is FILE_TOO_LARGE; a
 * body the multipart parser cannot read (no boundary, cut off, broken part headers) is MALFORMED_UPLOAD,
 * never a 500.
 */
function uploadError(error: unknown, limit: number): unknown {
  if (error instanceof AppError) return error;
  const code = (error as { code?: unknown } | null)?.code;
  if (code === 'FST_REQ_FILE_TOO_LARGE') return new AppError('FILE_TOO_LARGE', { max: limit });
  if (typeof code === 'string' && UPLOAD_LIMIT_CODES.has(code)) return error;
  return new AppError('MALFORMED_UPLOAD');
}

/** The one file of a multipart request (field `file`); other fields, `user` above all, are dropped. */
async function uploadOf(request: FastifyRequest, limit: number): Promise<Upload> {
  if (!request.isMultipart()) throw new AppError('FILE_REQUIRED');
  if (!BOUNDARY.test(request.headers['content-type'] ?? '')) throw new AppError('MALFORMED_UPLOAD');
  let upload: Upload | undefined;
  try {
    for await (const part of request.parts()) {
      if (part.type !== 'file') continue;
      const file = await part.toBuffer();
      if (part.fieldname === 'file' && !upload) upload = { file, filename: part.filename, mimeType: part.mimetype };
    }
  } catch (error) {
    throw uploadError(error, limit);
  }
  if (!upload || upload.file.length === 0) throw new AppError('FILE_REQUIRED');
  // Dify refuses a path in a file name; it would be a trick here anyway.
  const filename = upload.filename.replace(/^.*[\\/]/, '').slice(0, 255) || 'upload';
  return { ...upload, filename };
}

function formOf(upload: Upload, userId: string): FormData {
  const form = new FormData();
  form.append('file', new Blob([new Uint8Array(upload.file)], { type: upload.mimeType }), upload.filename);
  form.append('user', DifyService.identity(userId));
  return form;
}

/** Files and speech: uploads owned by their uploader, speech both ways; each priced per call. */
export function registerDifyMediaRoutes(app: App, deps: DifyRouteDeps): void {
  const { dify } = deps;
  const schema = (summary: string) => ({ tags: DIFY_TAGS, security: DIFY_SECURITY, summary });

  app.post(
    '/api/dify/files/upload',
    { config: DIFY_ACCESS, schema: schema('Upload a file (multipart, field file) for the caller’s next messages') },
    async (request, reply) => {
      const caller = callerOf(request);
      const upload = await uploadOf(request, deps.uploadLimit);
      const channel = dify.pickApp(null, requestedApp(request), caller.key);
      const answer = await meterFlat(deps, caller, channel, 'files/upload', reply, () =>
        dify.sendForJson<{ id?: string; name?: string; size?: number }>(channel, {
          method: 'POST',
          path: '/files/upload',
          body: { form: formOf(upload, caller.userId) },
        }),
      );
      if (typeof answer.body.id === 'string') {
        await dify.records.saveFile({
          id: answer.body.id,
          channel_id: channel.id,
          user_id: caller.userId,
          name: upload.filename,
          size: upload.file.length,
          created_at: dify.now(),
        });
      }
      return reply.status(answer.status).send(answer.body);
    },
  );

  app.post(
    '/api/dify/audio-to-text',
    { config: DIFY_ACCESS, schema: schema('Speech to text (multipart, field file)') },
    async (request, reply) => {
      const caller = callerOf(request);
      const upload = await uploadOf(request, deps.uploadLimit);
      const channel = dify.pickApp(null, requestedApp(request), caller.key);
      const answer = await meterFlat(deps, caller, channel, 'audio-to-text', reply, () =>
        dify.sendForJson(channel, {
          method: 'POST',
          path: '/audio-to-text',
          body: { form: formOf(upload, caller.userId) },
        }),
      );
      return answer.body;
    },
  );

  app.post(
    '/api/dify/text-to-audio',
    {
      config: DIFY_ACCESS,
      schema: {
        ...schema(
          'Text (or an own message) to speech: {audio_base64}, or the audio itself when Accept asks for audio/*',
        ),
        body: TextToAudioBody,
      },
    },
    async (request, reply) => {
      const caller = callerOf(request);
      const { text, message_id: messageId, voice } = request.body;
      if (!text && !messageId) throw new AppError('VALIDATION_FAILED', { detail: 'text or message_id is required' });
      const channel = messageId
        ? dify.appOf((await dify.ownMessage(caller, messageId)).channel_id, caller.key)
        : dify.pickApp(null, requestedApp(request), caller.key);
      const json: Record<string, unknown> = { user: DifyService.identity(caller.userId) };
      if (text) json.text = text;
      if (messageId) json.message_id = messageId;
      if (voice) json.voice = voice;
      const audio = await meterFlat(deps, caller, channel, 'text-to-audio', reply, async () => {
        const response = await dify.send(channel, { method: 'POST', path: '/text-to-audio', body: { json } });
        return {
          bytes: Buffer.from(await response.body.arrayBuffer()),
          type: String(response.headers['content-type'] ?? 'audio/mpeg'),
        };
      });
      if (/^audio\//i.test(String(request.headers.accept ?? ''))) return reply.type(audio.type).send(audio.bytes);
      return { audio_base64: audio.bytes.toString('base64'), content_type: audio.type };
    },
  );
}

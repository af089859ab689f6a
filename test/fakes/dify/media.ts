/**
 * Files and audio (dify-api.md §5): POST /files/upload, POST /audio-to-text, POST /text-to-audio.
 * The transcript names the file it heard; the speech is silent MPEG frames, one per two tokens.
 */
import { randomUUID } from 'node:crypto';
import { countTokens } from './content.ts';
import { json, type Outcome, type RouteContext } from './context.ts';
import { difyErrors, fail } from './errors.ts';
import { nowSeconds, uploadView, type FakeDifyUpload } from './store.ts';

const MB = 1024 * 1024;
const IMAGE = new Set(['jpg', 'jpeg', 'png', 'webp', 'gif', 'svg']);
const AUDIO = new Set(['mp3', 'm4a', 'wav', 'amr', 'mpga', 'webm']);
const VIDEO = new Set(['mp4', 'mov', 'mpeg', 'webm']);
/** What /audio-to-text accepts; note audio/mpeg is not among them. */
export const AUDIO_MIME_TYPES: ReadonlySet<string> = new Set([
  'audio/mp3',
  'audio/m4a',
  'audio/wav',
  'audio/amr',
  'audio/mpga',
]);

const extensionOf = (filename: string) =>
  filename.includes('.') ? filename.slice(filename.lastIndexOf('.') + 1).toLowerCase() : '';

function sizeLimitMb(extension: string): number {
  if (IMAGE.has(extension)) return 10;
  if (AUDIO.has(extension)) return 50;
  if (VIDEO.has(extension)) return 100;
  return 15;
}

export function uploadFile(ctx: RouteContext): Outcome {
  const files = ctx.form?.files ?? [];
  const file = files.find((f) => f.field === 'file');
  if (!file) throw difyErrors.coded('no_file_uploaded');
  if (files.length > 1) throw difyErrors.coded('too_many_files');
  if (file.filename === '') throw difyErrors.coded('filename_not_exists_error');
  if (/[/\\]/.test(file.filename)) throw difyErrors.invalidParam('Filename contains invalid characters');
  if (file.mimeType === '') throw difyErrors.coded('unsupported_file_type');
  const extension = extensionOf(file.filename);
  const limit = sizeLimitMb(extension);
  if (file.size > limit * MB)
    throw fail(413, 'file_too_large', `File size exceeded. File size exceeded, ${file.size} > ${limit * MB}`);
  const upload: FakeDifyUpload = {
    id: randomUUID(),
    appKey: ctx.app.key,
    endUserId: ctx.endUser().id,
    name: file.filename,
    size: file.size,
    extension,
    mimeType: file.mimeType,
    createdAt: nowSeconds(),
  };
  ctx.store.uploads.set(upload.id, upload);
  return json(uploadView(upload, ctx.app, ctx.origin), 201);
}

export function audioToText(ctx: RouteContext): Outcome {
  if (!ctx.app.stt) throw difyErrors.invalidParam('Speech to text is not enabled');
  const file = ctx.form?.files.find((f) => f.field === 'file');
  if (!file || file.size === 0) throw difyErrors.coded('no_audio_uploaded');
  if (!AUDIO_MIME_TYPES.has(file.mimeType)) throw difyErrors.coded('unsupported_audio_type');
  if (file.size > 30 * MB) throw fail(413, 'audio_too_large', 'Audio size exceeded. Audio size larger than 30 mb');
  ctx.endUser();
  return json({ text: `Fake transcript of ${file.filename} (${file.size} bytes)` });
}

/** One silent MPEG-1 Layer III frame (128 kbit/s, 44.1 kHz): a 4-byte header and 413 zero bytes. */
const FRAME = Buffer.concat([Buffer.from([0xff, 0xfb, 0x90, 0x64]), Buffer.alloc(413)]);

/** Silent MP3 bytes whose length grows with the text: one frame per two tokens, at least one. */
export function fakeSpeech(text: string): Buffer {
  const frames = Math.max(1, Math.ceil(countTokens(text) / 2));
  return Buffer.concat(Array.from({ length: frames }, () => FRAME));
}

/** POST /text-to-audio: the message's answer (message_id wins) or `text`, spoken. */
export function textToAudio(ctx: RouteContext): Outcome {
  if (!ctx.app.tts) throw difyErrors.invalidParam('TTS is not enabled');
  const { message_id: messageId, text } = ctx.body;
  let source: string | undefined;
  if (typeof messageId === 'string' && messageId !== '') {
    const message = ctx.store.messages.get(messageId.toLowerCase());
    if (message && message.appKey === ctx.app.key && message.answer !== '') source = message.answer;
  }
  if (source === undefined && typeof text === 'string' && text !== '') source = text;
  if (source === undefined) throw difyErrors.invalidParam('Text is required');
  ctx.endUser();
  return { kind: 'binary', contentType: 'audio/mpeg', data: fakeSpeech(source) };
}

import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { StorageRepository } from '#modules/storage/storage.repository.ts';
import {
  backends,
  call,
  createTestApp,
  registerUser,
  type Backend,
  type RegisteredUser,
  type TestApp,
} from '#test/helpers/test-app.ts';
import { startS3Server, type S3TestServer } from '#test/helpers/s3-server.ts';
import { gif, jpeg, multipart, png, webp } from './images.ts';

interface Upload {
  id: string;
  url: string;
  key: string;
  contentType: string;
  size: number;
  width: number;
  height: number;
}

// POST /v1/upload/image on local disk (every database) and on a real S3-protocol server (s3rver).
const suites: { label: string; backend: Backend; s3: boolean }[] = [
  ...backends().map((backend) => ({ label: `local disk, ${backend.label}`, backend, s3: false })),
  { label: 's3 (s3rver), sqlite', backend: backends()[0]!, s3: true },
];

describe.each(suites)('image upload on $label', ({ backend, s3 }) => {
  let t: TestApp;
  let server: S3TestServer | undefined;
  let user: RegisteredUser;
  const MAX = 64 * 1024;

  beforeAll(async () => {
    server = s3 ? await startS3Server() : undefined;
    t = await createTestApp(backend, {
      env: { UPLOAD_MAX_BYTES: String(MAX), UPLOAD_MAX_PIXELS: '1000000', ...server?.env },
    });
    user = await registerUser(t);
  });
  afterAll(async () => {
    await t?.close();
    await server?.close();
  });
  afterEach(() => vi.restoreAllMocks());

  const objects = () => t.app.services.storage.driver.list('images/');
  const uploadRows = async () => (await t.app.services.database.db.selectFrom('uploads').select('id').execute()).length;
  const sendFile = (bytes: Buffer, filename = 'photo.png', type = 'image/png', token = user.accessToken) => {
    const form = multipart('file', filename, type, bytes);
    return t.app.inject({
      method: 'POST',
      url: '/v1/upload/image',
      headers: { ...form.headers, authorization: `Bearer ${token}` },
      payload: form.payload,
    });
  };
  const sendBase64 = (image: string) =>
    call(t.app, 'POST', '/v1/upload/image', { token: user.accessToken, body: { image } });

  /** Nothing was stored or recorded by what a test did. */
  async function expectNothingStored(work: () => Promise<void>) {
    const [before, rows] = [await objects(), await uploadRows()];
    await work();
    expect(await objects()).toEqual(before);
    expect(await uploadRows()).toBe(rows);
  }

  it('multipart: stored by its bytes, served back identical with the sniffed type', async () => {
    const bytes = png(40, 30);
    const res = await sendFile(bytes);
    expect(res.statusCode, res.body).toBe(200);
    const { success, data } = res.json<{ success: boolean; data: Upload }>();
    expect(success).toBe(true);
    expect(data).toMatchObject({ contentType: 'image/png', size: bytes.length, width: 40, height: 30 });
    expect(data.url).toBe(`/uploads/${data.key}`);
    expect(await objects()).toContain(data.key);
    const served = await t.app.inject({ method: 'GET', url: data.url });
    expect(served.statusCode).toBe(200);
    expect(served.headers['content-type']).toBe('image/png');
    expect(served.headers['x-content-type-options']).toBe('nosniff');
    expect(Buffer.compare(served.rawPayload, bytes)).toBe(0);
  });

  it('the name and the declared type are ignored: a PNG called .jpg is stored and served as a PNG', async () => {
    const res = await sendFile(png(), 'photo.jpg', 'image/jpeg');
    expect(res.statusCode).toBe(200);
    const data = res.json<{ data: Upload }>().data;
    expect(data.contentType).toBe('image/png');
    expect(data.key).toMatch(/\.png$/);
  });

  it.each([
    ['JPEG as bare base64', jpeg(640, 480).toString('base64'), 'image/jpeg', 640],
    ['WebP as a data URL', `data:image/webp;base64,${webp.lossy.toString('base64')}`, 'image/webp', 1],
    [
      'GIF with line breaks in its base64',
      gif(9, 4)
        .toString('base64')
        .replace(/(.{8})/g, '$1\n'),
      'image/gif',
      9,
    ],
  ])('JSON base64: %s', async (_name, image, contentType, width) => {
    const res = await sendBase64(image);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json<{ data: Upload }>().data).toMatchObject({ contentType, width });
  });

  it.each([
    ['text named .png', () => sendFile(Buffer.from('just text'), 'x.png'), 415, /仅支持 PNG、JPEG、WebP、GIF/],
    [
      'an SVG (script-capable) named .png',
      () => sendFile(Buffer.from('<svg onload="alert(1)"/>')),
      415,
      /仅支持 PNG、JPEG、WebP、GIF/,
    ],
    [
      'HTML as base64',
      () => sendBase64(Buffer.from('<html></html>').toString('base64')),
      415,
      /仅支持 PNG、JPEG、WebP、GIF/,
    ],
    ['a truncated PNG', () => sendFile(png().subarray(0, 20)), 400, /图片已损坏/],
    [
      'bytes over the limit',
      () => sendFile(Buffer.concat([png(), Buffer.alloc(MAX)])),
      413,
      /图片过大（上限 65536 字节）/,
    ],
    ['base64 over the limit', () => sendBase64('A'.repeat(MAX * 2)), 413, /图片过大（上限 65536 字节）/],
    [
      'a small file declaring 100000×100000 pixels',
      () => sendFile(png(1, 1, { width: 100_000, height: 100_000 })),
      413,
      /100000×100000，上限 1000000 像素/,
    ],
    ['base64 that is not', () => sendBase64('%%%not base64%%%'), 400, /不是有效的 base64/],
    ['an empty file', () => sendFile(Buffer.alloc(0)), 400, /请上传图片/],
    [
      'JSON without an image',
      () => call(t.app, 'POST', '/v1/upload/image', { token: user.accessToken, body: { name: 'x' } }),
      400,
      /请上传图片/,
    ],
    [
      'multipart without a boundary',
      () =>
        t.app.inject({
          method: 'POST',
          url: '/v1/upload/image',
          headers: { 'content-type': 'multipart/form-data', authorization: `Bearer ${user.accessToken}` },
          payload: 'x',
        }),
      400,
      /multipart/,
    ],
    [
      'a raw image body',
      () =>
        t.app.inject({
          method: 'POST',
          url: '/v1/upload/image',
          headers: { 'content-type': 'image/png', authorization: `Bearer ${user.accessToken}` },
          payload: png(),
        }),
      415,
      undefined,
    ],
    ['no sign-in', () => sendFile(png(), 'a.png', 'image/png', 'not-a-token'), 401, undefined],
  ])('%s: a clear 4xx and nothing stored', async (_name, send, status, message) => {
    await expectNothingStored(async () => {
      const res = await send();
      expect(res.statusCode, res.body).toBe(status);
      const body = res.json<{ success: boolean; message: string }>();
      expect(body.success).toBe(false);
      expect(body.message.length).toBeGreaterThan(0);
      if (message) expect(body.message).toMatch(message);
    });
  });

  it('a request that wrote its object and then failed removes it', async () => {
    vi.spyOn(StorageRepository.prototype, 'insertUpload').mockRejectedValueOnce(new Error('database went away'));
    await expectNothingStored(async () => {
      const res = await sendFile(png());
      expect(res.statusCode).toBe(500);
    });
  });

  it('GET /uploads answers 404 for anything that is not a stored object, never a file outside', async () => {
    for (const url of [
      '/uploads/images/2026/12/0190a0a0-0000-7000-8000-000000000000.png',
      '/uploads/../secrets.json',
      '/uploads/%2e%2e/secrets.json',
      '/uploads/secrets.json',
      '/uploads/',
    ]) {
      const res = await t.app.inject({ method: 'GET', url });
      expect(res.statusCode, url).toBe(404);
      expect(res.body).not.toContain('jwtSecret');
    }
  });

  it('parallel uploads each get their own object', async () => {
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => sendFile(png(i + 1, 1))));
    const keys = results.map((r) => r.json<{ data: Upload }>().data.key);
    expect(new Set(keys).size).toBe(8);
    const stored = await objects();
    for (const key of keys) expect(stored).toContain(key);
  });
});

describe('image upload when object storage is down', () => {
  let t: TestApp;
  let user: RegisteredUser;
  beforeAll(async () => {
    const server = await startS3Server();
    t = await createTestApp(backends()[0], { env: server.env });
    user = await registerUser(t);
    await server.close(); // the store goes away after start
  });
  afterAll(() => t?.close());

  it('503, and nothing is recorded', async () => {
    const form = multipart('file', 'a.png', 'image/png', png());
    const res = await t.app.inject({
      method: 'POST',
      url: '/v1/upload/image',
      headers: { ...form.headers, authorization: `Bearer ${user.accessToken}` },
      payload: form.payload,
    });
    expect(res.statusCode, res.body).toBe(503);
    expect(res.json<{ message: string }>().message).toMatch(/存储服务暂时不可用/);
    expect(await t.app.services.database.db.selectFrom('uploads').selectAll().execute()).toEqual([]);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  backends,
  call,
  createTestApp,
  registerUser,
  type RegisteredUser,
  type TestApp,
} from '#test/helpers/test-app.ts';
import { uploadImage, type Envelope, type ErrorBody, type GalleryImage } from './helpers.ts';

/**
 * Publishing by URL when images are served from a public base of their own (STORAGE_PUBLIC_URL, or
 * R2_PUBLIC_URL with S3): only that exact base names an upload; the same key under another host is an
 * outside URL.
 */
describe.each(backends())('publishing by URL with a public storage base on $label', (backend) => {
  let t: TestApp;
  let user: RegisteredUser;
  beforeAll(async () => {
    t = await createTestApp(backend, { env: { STORAGE_PUBLIC_URL: 'https://cdn.example.com/media/' } });
    user = await registerUser(t);
  });
  afterAll(() => t?.close());

  const tryPublish = (imageUrl: string) =>
    call(t.app, 'POST', '/v1/gallery/publish', {
      token: user.accessToken,
      body: { imageUrl, title: '作品', category: 'other', prompt: '一只猫' },
    });

  it('takes the URL Tollgate gave, and refuses the same key on another host or path', async () => {
    const upload = await uploadImage(t, user);
    expect(upload.url).toBe(`https://cdn.example.com/media/${upload.key}`);
    for (const url of [
      `https://evil.example.com/media/${upload.key}`,
      `https://cdn.example.com/${upload.key}`,
      `/uploads/${upload.key}`,
      `https://cdn.example.com/media/${upload.key}?x=1`,
    ]) {
      const res = await tryPublish(url);
      expect(res.statusCode, url).toBe(400);
      expect(res.json<ErrorBody>().code).toBe('GALLERY_IMAGE_URL_INVALID');
    }
    const res = await tryPublish(upload.url);
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json<Envelope<GalleryImage>>().data.imageUrl).toBe(upload.url);
  });
});

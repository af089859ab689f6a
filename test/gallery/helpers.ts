import { expect } from 'vitest';
import { call, type RegisteredUser, type TestApp } from '#test/helpers/test-app.ts';
import { png } from '#test/storage/images.ts';

export interface GalleryImage {
  id: string;
  imageUrl: string;
  title: string;
  prompt: string;
  category: string;
  width: number;
  height: number;
  likeCount: number;
  status: string;
  author: { nickname: string | null; avatarUrl: string | null } | null;
  createdAt: string;
}
export interface Page<T> {
  items: T[];
  total: number;
  page: number;
  limit: number;
  nextCursor: string | null;
  hasMore: boolean;
}
export interface Envelope<T> {
  success: boolean;
  data: T;
}
export interface ErrorBody {
  success: false;
  statusCode: number;
  code: string;
  message: string;
  path: string;
}
export interface Upload {
  id: string;
  key: string;
  url: string;
}

/** An image the user uploads through POST /v1/upload/image, as a mini-program does (JSON base64). */
export async function uploadImage(t: TestApp, user: RegisteredUser, width = 8, height = 6): Promise<Upload> {
  const res = await call(t.app, 'POST', '/v1/upload/image', {
    token: user.accessToken,
    body: { image: png(width, height).toString('base64') },
  });
  expect(res.statusCode, res.body).toBe(200);
  return res.json<Envelope<Upload>>().data;
}

/** POST /v1/gallery/publish of the user's upload; the published image (201). */
export async function publish(
  t: TestApp,
  user: RegisteredUser,
  upload: Upload,
  fields: { title?: string; category?: string; prompt?: string } = {},
): Promise<GalleryImage> {
  const res = await call(t.app, 'POST', '/v1/gallery/publish', {
    token: user.accessToken,
    body: {
      imageId: upload.id,
      title: fields.title ?? '作品',
      category: fields.category ?? 'anime',
      prompt: fields.prompt ?? '一只猫',
    },
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json<Envelope<GalleryImage>>().data;
}

/** A GET answered 200 in seed 003's envelope: its data. */
export async function getData<T>(t: TestApp, url: string, token?: string): Promise<T> {
  const res = await call(t.app, 'GET', url, token ? { token } : {});
  expect(res.statusCode, `${url}: ${res.body.slice(0, 300)}`).toBe(200);
  const body = res.json<Envelope<T>>();
  expect(body.success).toBe(true);
  return body.data;
}

/** Every item of a list, read page by page with the cursor. */
export async function allByCursor<T>(t: TestApp, path: string, query: string, limit: number, token?: string) {
  const seen: T[] = [];
  let cursor: string | null = null;
  for (let guard = 0; guard < 100; guard++) {
    const url: string = `${path}?${query}${query ? '&' : ''}limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`;
    const page: Page<T> = await getData<Page<T>>(t, url, token);
    seen.push(...page.items);
    expect(page.hasMore).toBe(page.nextCursor !== null);
    if (!page.nextCursor) return seen;
    cursor = page.nextCursor;
  }
  throw new Error('the cursor never ended');
}

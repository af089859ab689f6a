import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_KEY_ENV, auditLog, withKey } from '#test/admin/helpers.ts';
import {
  adminToken,
  backends,
  call,
  createTestApp,
  registerUser,
  type RegisteredUser,
  type TestApp,
} from '#test/helpers/test-app.ts';
import {
  allByCursor,
  getData,
  publish,
  uploadImage,
  type Envelope,
  type ErrorBody,
  type GalleryImage,
  type Page,
} from './helpers.ts';

interface Category {
  id: string;
  name: string;
  nameEn: string;
  count: number;
}

describe.each(backends())('gallery on $label', (backend) => {
  let t: TestApp;
  let alice: RegisteredUser;
  let bob: RegisteredUser;

  beforeAll(async () => {
    t = await createTestApp(backend, { env: ADMIN_KEY_ENV });
    alice = await registerUser(t);
    bob = await registerUser(t);
    // Alice's profile: a nickname and avatar everyone may see, a phone nobody else may.
    await t.app.services.users.update(alice.id, {
      nickname: '爱丽丝',
      avatar_url: 'https://img.example.com/alice.png',
      phone: '+86 13800138000',
    });
  });
  afterAll(() => t?.close());

  const list = (query = '') => getData<Page<GalleryImage>>(t, `/v1/gallery/images${query}`);
  const galleryRows = async () =>
    (await t.app.services.database.db.selectFrom('gallery_images').select('id').execute()).length;
  const tryPublish = (user: RegisteredUser, body: Record<string, unknown>) =>
    call(t.app, 'POST', '/v1/gallery/publish', {
      token: user.accessToken,
      body: { title: '我的作品', category: 'anime', prompt: '一只猫', ...body },
    });

  it('a new database shows the 2 seed images, whose files Tollgate serves itself', async () => {
    const page = await list();
    expect(page.total).toBe(2);
    expect(page.items.map((i) => i.title)).toEqual(['雪山晴空', '海上日落']); // newest first
    const files = { 海上日落: 'sunset-sea.png', 雪山晴空: 'snow-mountains.png' } as Record<string, string>;
    for (const image of page.items) {
      expect(image).toMatchObject({ category: 'landscape', likeCount: 0, status: 'published', author: null });
      const res = await call(t.app, 'GET', image.imageUrl);
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toBe('image/png');
      expect(res.rawPayload).toEqual(
        readFileSync(new URL(`../../assets/gallery/${files[image.title]}`, import.meta.url)),
      );
    }
    expect((await call(t.app, 'GET', '/static/gallery/nothing.png')).statusCode).toBe(404);
    const categories = await getData<Category[]>(t, '/v1/gallery/categories');
    expect(categories.find((c) => c.id === 'landscape')).toEqual({
      id: 'landscape',
      name: '风景',
      nameEn: 'Landscape',
      count: 2,
    });
    expect(categories.find((c) => c.id === 'anime')?.count).toBe(0);
  });

  it('publishes my own upload; the list shows the author by nickname and avatar only', async () => {
    const upload = await uploadImage(t, alice, 30, 20);
    const image = await publish(t, alice, upload, { title: '樱花少女', category: 'portrait', prompt: '樱花下的少女' });
    expect(image).toMatchObject({
      imageUrl: upload.url,
      title: '樱花少女',
      category: 'portrait',
      prompt: '樱花下的少女',
      width: 30,
      height: 20,
      likeCount: 0,
      status: 'published',
      author: { nickname: '爱丽丝', avatarUrl: 'https://img.example.com/alice.png' },
    });
    expect(new Date(image.createdAt).toISOString()).toBe(image.createdAt);
    const res = await call(t.app, 'GET', '/v1/gallery/images?category=portrait');
    const listed = res.json<Envelope<Page<GalleryImage>>>().data.items;
    expect(listed).toEqual([image]);
    expect(Object.keys(listed[0]!.author!).sort()).toEqual(['avatarUrl', 'nickname']);
    for (const secret of [alice.email, alice.id, '13800138000', alice.username]) expect(res.body).not.toContain(secret);
    // The published image is the upload itself: its URL serves the bytes.
    expect((await call(t.app, 'GET', image.imageUrl)).statusCode).toBe(200);
  });

  it('publishes by the URL Tollgate gave for my image, relative or on Tollgate’s host', async () => {
    const first = await uploadImage(t, alice);
    const second = await uploadImage(t, alice);
    const a = await tryPublish(alice, { imageUrl: first.url });
    expect(a.statusCode, a.body).toBe(201);
    expect(a.json<Envelope<GalleryImage>>().data.imageUrl).toBe(first.url);
    const b = await tryPublish(alice, { imageUrl: `https://api.example.com${second.url}` });
    expect(b.statusCode, b.body).toBe(201);
    expect(b.json<Envelope<GalleryImage>>().data.imageUrl).toBe(second.url);
  });

  it('refuses someone else’s upload, an unknown id, an outside URL or no image, and lists nothing', async () => {
    const bobs = await uploadImage(t, bob);
    const before = { rows: await galleryRows(), total: (await list()).total };
    const cases: Array<[Record<string, unknown>, number, string]> = [
      [{ imageId: bobs.id }, 404, 'GALLERY_SOURCE_NOT_FOUND'],
      [{ imageId: '00000000-0000-7000-8000-00000000dead' }, 404, 'GALLERY_SOURCE_NOT_FOUND'],
      [{ imageUrl: bobs.url }, 400, 'GALLERY_IMAGE_URL_INVALID'],
      [{ imageUrl: 'https://evil.example.com/cat.png' }, 400, 'GALLERY_IMAGE_URL_INVALID'],
      [{ imageUrl: '/uploads/images/../../etc/passwd' }, 400, 'GALLERY_IMAGE_URL_INVALID'],
      [{}, 400, 'GALLERY_SOURCE_REQUIRED'],
    ];
    for (const [body, status, code] of cases) {
      const res = await tryPublish(alice, body);
      expect(res.statusCode, JSON.stringify(body)).toBe(status);
      expect(res.json<ErrorBody>()).toMatchObject({
        success: false,
        statusCode: status,
        code,
        path: '/v1/gallery/publish',
      });
    }
    const own = await uploadImage(t, alice);
    for (const body of [
      { imageId: own.id, category: 'no-such-category' },
      { imageId: own.id, title: '' },
      { imageId: own.id, prompt: '   ' },
      { imageId: own.id, extra: 1 },
    ]) {
      const res = await tryPublish(alice, body);
      expect(res.statusCode, JSON.stringify(body)).toBe(400);
      expect(res.json<ErrorBody>().code).toBe('VALIDATION_FAILED');
    }
    expect((await call(t.app, 'POST', '/v1/gallery/publish', { body: { imageId: own.id } })).statusCode).toBe(401);
    expect({ rows: await galleryRows(), total: (await list()).total }).toEqual(before);
  });

  it('publishing one image twice is a 409 naming the entry, also when both requests race', async () => {
    const upload = await uploadImage(t, bob);
    const first = await publish(t, bob, upload);
    const again = await tryPublish(bob, { imageId: upload.id });
    expect(again.statusCode).toBe(409);
    expect(again.json<ErrorBody & { galleryImageId: string }>()).toMatchObject({
      code: 'GALLERY_ALREADY_PUBLISHED',
      galleryImageId: first.id,
    });
    const racing = await uploadImage(t, bob);
    const answers = await Promise.all(Array.from({ length: 5 }, () => tryPublish(bob, { imageId: racing.id })));
    expect(answers.map((r) => r.statusCode).sort()).toEqual([201, 409, 409, 409, 409]);
    const rows = await t.app.services.database.db
      .selectFrom('gallery_images')
      .select('id')
      .where('upload_id', '=', racing.id)
      .execute();
    expect(rows).toHaveLength(1);
  });

  it('likes and unlikes are idempotent; an unknown image is 404', async () => {
    const image = await publish(t, alice, await uploadImage(t, alice));
    const like = (user: RegisteredUser, method: 'POST' | 'DELETE' = 'POST') =>
      call(t.app, method, `/v1/gallery/images/${image.id}/like`, { token: user.accessToken });
    const state = async (user: RegisteredUser, method: 'POST' | 'DELETE' = 'POST') => {
      const res = await like(user, method);
      expect(res.statusCode, res.body).toBe(200);
      return res.json<Envelope<{ imageId: string; liked: boolean; likeCount: number }>>().data;
    };
    expect(await state(bob)).toEqual({ imageId: image.id, liked: true, likeCount: 1 });
    expect(await state(bob)).toEqual({ imageId: image.id, liked: true, likeCount: 1 });
    expect(await state(alice)).toEqual({ imageId: image.id, liked: true, likeCount: 2 });
    expect(await state(bob, 'DELETE')).toEqual({ imageId: image.id, liked: false, likeCount: 1 });
    expect(await state(bob, 'DELETE')).toEqual({ imageId: image.id, liked: false, likeCount: 1 });
    const listed = (await list('?limit=100')).items.find((i) => i.id === image.id);
    expect(listed?.likeCount).toBe(1);
    const unknown = await call(t.app, 'POST', '/v1/gallery/images/no-such-image/like', { token: bob.accessToken });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json<ErrorBody>().code).toBe('GALLERY_IMAGE_NOT_FOUND');
    expect((await call(t.app, 'POST', `/v1/gallery/images/${image.id}/like`)).statusCode).toBe(401);
  });

  it('an admin takes an image down (audited); users cannot; the owner’s upload stays', async () => {
    const upload = await uploadImage(t, bob);
    const image = await publish(t, bob, upload, { category: 'fantasy' });
    const url = `/v1/admin/gallery/images/${image.id}`;
    expect((await call(t.app, 'DELETE', url, { token: bob.accessToken })).statusCode).toBe(403);
    expect((await call(t.app, 'DELETE', url)).statusCode).toBe(401);
    expect((await withKey(t.app, 'DELETE', url, { key: 'wrong-admin-key-0123456789-abcdefghijkl' })).statusCode).toBe(
      401,
    );
    expect((await list('?category=fantasy')).total).toBe(1);

    const res = await withKey(t.app, 'DELETE', url);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json<Envelope<GalleryImage>>().data).toMatchObject({ id: image.id, status: 'unpublished' });
    const [entry] = await auditLog(t.app, `&targetType=gallery_image&targetId=${image.id}`);
    expect(entry).toMatchObject({
      actor: { kind: 'adminkey' },
      action: 'gallery.unpublish',
      target: { type: 'gallery_image', id: image.id },
      before: { status: 'published' },
      after: { status: 'unpublished' },
    });
    expect((await list('?category=fantasy')).total).toBe(0);
    const liked = await call(t.app, 'POST', `/v1/gallery/images/${image.id}/like`, { token: alice.accessToken });
    expect(liked.statusCode).toBe(404);
    const again = await tryPublish(bob, { imageId: upload.id });
    expect(again.statusCode).toBe(409);
    expect(again.json<ErrorBody>().code).toBe('GALLERY_IMAGE_TAKEN_DOWN');
    expect((await call(t.app, 'GET', upload.url)).statusCode).toBe(200);
    expect(await t.app.services.storage.findUpload(bob.id, upload.id)).toBeDefined();

    // An admin's session works too; a second take-down or an unknown id is 404.
    const admin = await adminToken(t);
    const other = await publish(t, bob, await uploadImage(t, bob));
    const bySession = await call(t.app, 'DELETE', `/v1/admin/gallery/images/${other.id}`, { token: admin });
    expect(bySession.statusCode).toBe(200);
    expect((await withKey(t.app, 'DELETE', url)).statusCode).toBe(404);
    expect((await withKey(t.app, 'DELETE', '/v1/admin/gallery/images/no-such-image')).statusCode).toBe(404);
    // Two take-downs at once: one does it, the other finds nothing left to take down; one audit row.
    const raced = await publish(t, bob, await uploadImage(t, bob));
    const both = await Promise.all([1, 2].map(() => withKey(t.app, 'DELETE', `/v1/admin/gallery/images/${raced.id}`)));
    expect(both.map((r) => r.statusCode).sort()).toEqual([200, 404]);
    expect(await auditLog(t.app, `&targetType=gallery_image&targetId=${raced.id}`)).toHaveLength(1);
  });
});

describe.each(backends())('gallery order and cursor pages on $label', (backend) => {
  let t: TestApp;
  let users: RegisteredUser[];

  beforeAll(async () => {
    t = await createTestApp(backend);
    users = await Promise.all(Array.from({ length: 4 }, () => registerUser(t)));
  });
  afterAll(() => t?.close());

  it('newest and most liked, by category, page by page with the cursor: nothing skipped or repeated', async () => {
    const published: GalleryImage[] = [];
    for (let i = 0; i < 11; i++) {
      // Some share a moment (ties broken by id), some come later.
      if (i % 3 === 0) t.clock.advance(1000);
      const owner = users[i % users.length]!;
      published.push(
        await publish(t, owner, await uploadImage(t, owner), { category: i % 2 === 0 ? 'anime' : 'scifi' }),
      );
    }
    // Likes: 0 to 3 per image, with ties.
    for (const [i, image] of published.entries()) {
      for (const user of users.slice(0, i % 4)) {
        const res = await call(t.app, 'POST', `/v1/gallery/images/${image.id}/like`, { token: user.accessToken });
        expect(res.statusCode).toBe(200);
      }
    }
    const likes = new Map(published.map((image, i) => [image.id, i % 4]));
    const all = await getData<Page<GalleryImage>>(t, '/v1/gallery/images?limit=100');
    expect(all.total).toBe(13); // with the 2 seed images
    const byNewest = [...all.items].sort((a, b) => b.createdAt.localeCompare(a.createdAt) || b.id.localeCompare(a.id));
    expect(all.items.map((i) => i.id)).toEqual(byNewest.map((i) => i.id));

    for (const limit of [1, 2, 5]) {
      const newest = await allByCursor<GalleryImage>(t, '/v1/gallery/images', '', limit);
      expect(newest.map((i) => i.id)).toEqual(all.items.map((i) => i.id));
      const popular = await allByCursor<GalleryImage>(t, '/v1/gallery/images', 'sort=popular', limit);
      const expected = [...all.items].sort(
        (a, b) => (likes.get(b.id) ?? 0) - (likes.get(a.id) ?? 0) || b.id.localeCompare(a.id),
      );
      expect(popular.map((i) => i.id)).toEqual(expected.map((i) => i.id));
      expect(popular.map((i) => i.likeCount)).toEqual(expected.map((i) => likes.get(i.id) ?? 0));
      const anime = await allByCursor<GalleryImage>(t, '/v1/gallery/images', 'category=anime&sort=popular', limit);
      expect(anime.map((i) => i.id)).toEqual(expected.filter((i) => i.category === 'anime').map((i) => i.id));
    }
    // Numbered pages give the same order.
    const second = await getData<Page<GalleryImage>>(t, '/v1/gallery/images?sort=popular&page=2&limit=5');
    const popularAll = await getData<Page<GalleryImage>>(t, '/v1/gallery/images?sort=popular&limit=100');
    expect(second.items.map((i) => i.id)).toEqual(popularAll.items.slice(5, 10).map((i) => i.id));
    expect(second).toMatchObject({ page: 2, limit: 5, total: 13, hasMore: true });

    const categories = await getData<Array<{ id: string; count: number }>>(t, '/v1/gallery/categories');
    expect(categories.find((c) => c.id === 'anime')?.count).toBe(6);
    expect(categories.find((c) => c.id === 'scifi')?.count).toBe(5);
    const bad = await call(t.app, 'GET', '/v1/gallery/images?cursor=not-a-cursor');
    expect(bad.statusCode).toBe(400);
    expect(bad.json<ErrorBody>().code).toBe('INVALID_CURSOR');
    expect((await call(t.app, 'GET', '/v1/gallery/images?sort=oldest')).statusCode).toBe(400);
  });
});

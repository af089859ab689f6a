import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
import { jpeg, png, webp } from '#test/storage/images.ts';

interface Photo {
  id: string;
  characterId: string;
  url: string;
  source: 'upload' | 'url';
  contentType: string | null;
  width: number | null;
}
interface Character {
  id: string;
  name: string;
  description: string | null;
  photoCount: number;
  photos: Photo[];
}
interface Page {
  items: Character[];
  total: number;
  nextCursor: string | null;
  hasMore: boolean;
}

// Seed 003's face-lock characters on every database (local disk), and once on s3rver.
const suites: { label: string; backend: Backend; s3: boolean }[] = [
  ...backends().map((backend) => ({ label: `${backend.label}, local disk`, backend, s3: false })),
  { label: 'sqlite, s3 (s3rver)', backend: backends()[0]!, s3: true },
];

describe.each(suites)('characters on $label', ({ backend, s3 }) => {
  let t: TestApp;
  let server: S3TestServer | undefined;
  let alice: RegisteredUser;
  let bob: RegisteredUser;

  beforeAll(async () => {
    server = s3 ? await startS3Server() : undefined;
    t = await createTestApp(backend, { env: { ...server?.env } });
    [alice, bob] = await Promise.all([registerUser(t), registerUser(t)]);
  });
  afterAll(async () => {
    await t?.close();
    await server?.close();
  });

  const objects = () => t.app.services.storage.driver.list('characters/');
  const keyOf = (url: string) => url.replace(/^\/uploads\//, '');
  const as = (user: RegisteredUser) => ({
    create: (body: unknown) => call(t.app, 'POST', '/v1/characters', { token: user.accessToken, body }),
    get: (id: string) => call(t.app, 'GET', `/v1/characters/${id}`, { token: user.accessToken }),
    list: (query = '') => call(t.app, 'GET', `/v1/characters${query}`, { token: user.accessToken }),
    update: (id: string, body: unknown) =>
      call(t.app, 'PUT', `/v1/characters/${id}`, { token: user.accessToken, body }),
    remove: (id: string) => call(t.app, 'DELETE', `/v1/characters/${id}`, { token: user.accessToken }),
    upload: (id: string, bytes: Buffer) =>
      call(t.app, 'POST', `/v1/characters/${id}/photos/upload`, {
        token: user.accessToken,
        body: { image: bytes.toString('base64') },
      }),
    addUrl: (id: string, url: string) =>
      call(t.app, 'POST', `/v1/characters/${id}/photos`, { token: user.accessToken, body: { url } }),
    photo: (id: string, photoId: string) =>
      call(t.app, 'GET', `/v1/characters/${id}/photos/${photoId}`, { token: user.accessToken }),
    removePhoto: (id: string, photoId: string) =>
      call(t.app, 'DELETE', `/v1/characters/${id}/photos/${photoId}`, { token: user.accessToken }),
  });
  const data = <T>(res: { statusCode: number; body: string; json: <U>() => U }, status = 200): T => {
    expect(res.statusCode, res.body).toBe(status);
    const body = res.json<{ success: boolean; data: T }>();
    expect(body.success).toBe(true);
    return body.data;
  };
  const newCharacter = async (user = alice, name = '小明') => data<Character>(await as(user).create({ name }));

  it('create, get, rename, list and delete a character', async () => {
    const created = data<Character>(await as(alice).create({ name: '  林黛玉 ', description: '古风，长发' }));
    expect(created).toMatchObject({ name: '林黛玉', description: '古风，长发', photoCount: 0, photos: [] });
    expect(data<Character>(await as(alice).get(created.id)).name).toBe('林黛玉');
    const renamed = data<Character>(await as(alice).update(created.id, { name: '黛玉', description: null }));
    expect(renamed).toMatchObject({ name: '黛玉', description: null });
    expect(data<Page>(await as(alice).list()).items.map((c) => c.id)).toContain(created.id);
    expect(data<{ deleted: boolean }>(await as(alice).remove(created.id))).toEqual({ deleted: true });
    expect((await as(alice).get(created.id)).statusCode).toBe(404);
    expect((await as(alice).remove(created.id)).statusCode).toBe(404);
  });

  it('lists newest first by page or by cursor', async () => {
    const carol = await registerUser(t);
    const ids: string[] = [];
    for (const name of ['a', 'b', 'c']) {
      t.clock.advance(1000);
      ids.push((await newCharacter(carol, name)).id);
    }
    const first = data<Page>(await as(carol).list('?limit=2'));
    expect(first.items.map((c) => c.name)).toEqual(['c', 'b']);
    expect(first).toMatchObject({ total: 3, hasMore: true });
    const second = data<Page>(await as(carol).list(`?limit=2&cursor=${first.nextCursor}`));
    expect(second.items.map((c) => c.name)).toEqual(['a']);
    expect(second).toMatchObject({ hasMore: false, nextCursor: null });
    expect((await as(carol).list('?cursor=garbage')).statusCode).toBe(400);
  });

  it.each([
    ['no name', {}],
    ['an empty name', { name: '' }],
    ['a blank name', { name: '   ' }],
    ['a name over 100 characters', { name: 'x'.repeat(101) }],
    ['an unknown field', { name: 'a', userId: 'someone-else' }],
    ['a name that is not text', { name: 42 }],
  ])('create with %s: 400, nothing made', async (_name, body) => {
    const before = data<Page>(await as(alice).list()).total;
    const res = await as(alice).create(body);
    expect(res.statusCode, res.body).toBe(400);
    expect(res.json<{ success: boolean }>().success).toBe(false);
    expect(data<Page>(await as(alice).list()).total).toBe(before);
  });

  it('an update with nothing to change is 400', async () => {
    const c = await newCharacter();
    expect((await as(alice).update(c.id, {})).statusCode).toBe(400);
  });

  it('uploads a photo (base64), serves it, and deleting the photo removes its object', async () => {
    const c = await newCharacter();
    const bytes = png(32, 48);
    const photo = data<Photo>(await as(alice).upload(c.id, bytes));
    expect(photo).toMatchObject({ characterId: c.id, source: 'upload', contentType: 'image/png', width: 32 });
    expect(await objects()).toContain(keyOf(photo.url));
    const served = await t.app.inject({ method: 'GET', url: photo.url });
    expect(Buffer.compare(served.rawPayload, bytes)).toBe(0);
    expect(data<Photo>(await as(alice).photo(c.id, photo.id)).id).toBe(photo.id);
    expect(data<Character>(await as(alice).get(c.id))).toMatchObject({ photoCount: 1, photos: [{ id: photo.id }] });

    data(await as(alice).removePhoto(c.id, photo.id));
    expect(await objects()).not.toContain(keyOf(photo.url));
    expect((await as(alice).photo(c.id, photo.id)).statusCode).toBe(404);
    expect((await as(alice).removePhoto(c.id, photo.id)).statusCode).toBe(404);
    expect(data<Character>(await as(alice).get(c.id)).photoCount).toBe(0);
  });

  it('adds a photo by URL: https to a public host, kept as given, no object made', async () => {
    const c = await newCharacter();
    const before = await objects();
    const url = 'https://img.example.com/faces/a.jpg?v=2';
    expect(data<Photo>(await as(alice).addUrl(c.id, url))).toMatchObject({ url, source: 'url', contentType: null });
    for (const bad of [
      'http://img.example.com/a.jpg',
      'https://localhost/a.jpg',
      'https://127.0.0.1/a.jpg',
      'https://10.1.2.3/a.jpg',
      'https://192.168.0.8/a.jpg',
      'https://169.254.169.254/latest/meta-data',
      'https://[::1]/a.jpg',
      'https://user:pass@img.example.com/a.jpg',
      'https://intranet/a.jpg',
      'file:///etc/passwd',
      'javascript:alert(1)',
      'not a url',
    ]) {
      const res = await as(alice).addUrl(c.id, bad);
      expect(res.statusCode, bad).toBe(400);
    }
    expect(data<Character>(await as(alice).get(c.id)).photoCount).toBe(1);
    expect(await objects()).toEqual(before);
  });

  it('a photo that is no image is refused (415) and nothing is stored', async () => {
    const c = await newCharacter();
    const before = await objects();
    const res = await call(t.app, 'POST', `/v1/characters/${c.id}/photos/upload`, {
      token: alice.accessToken,
      body: { image: Buffer.from('<svg onload="alert(1)"/>').toString('base64') },
    });
    expect(res.statusCode).toBe(415);
    expect((await as(alice).upload(c.id, Buffer.alloc(0))).statusCode).toBe(400);
    expect(await objects()).toEqual(before);
    expect(data<Character>(await as(alice).get(c.id)).photoCount).toBe(0);
  });

  it('at most 10 photos, uploaded or by URL; the 11th is 409 and stores nothing', async () => {
    const c = await newCharacter();
    for (let i = 0; i < 5; i += 1) data(await as(alice).upload(c.id, jpeg(10 + i, 10)));
    for (let i = 0; i < 5; i += 1) data(await as(alice).addUrl(c.id, `https://img.example.com/${i}.png`));
    const before = await objects();
    const refused = await as(alice).upload(c.id, webp.lossy);
    expect(refused.statusCode).toBe(409);
    expect(refused.json<{ message: string }>().message).toMatch(/最多 10 张/);
    expect((await as(alice).addUrl(c.id, 'https://img.example.com/11.png')).statusCode).toBe(409);
    expect(await objects()).toEqual(before);
    expect(data<Character>(await as(alice).get(c.id)).photoCount).toBe(10);
  });

  it('20 racing uploads keep exactly 10 photos and leave no orphaned object', async () => {
    const c = await newCharacter();
    const before = await objects();
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => as(alice).upload(c.id, png(i + 1, 2))));
    const statuses = results.map((r) => r.statusCode).sort();
    expect(statuses.filter((s) => s === 200)).toHaveLength(10);
    expect(statuses.filter((s) => s === 409)).toHaveLength(10);
    const kept = data<Character>(await as(alice).get(c.id));
    expect(kept.photoCount).toBe(10);
    expect(kept.photos).toHaveLength(10);
    const added = (await objects()).filter((k) => !before.includes(k));
    expect(added.sort()).toEqual(kept.photos.map((p) => keyOf(p.url)).sort());
  });

  it('deleting a character removes every stored photo', async () => {
    const c = await newCharacter();
    const urls = [];
    for (let i = 0; i < 3; i += 1) urls.push(data<Photo>(await as(alice).upload(c.id, png(3, i + 1))).url);
    data(await as(alice).addUrl(c.id, 'https://img.example.com/x.png'));
    data(await as(alice).remove(c.id));
    const left = await objects();
    for (const url of urls) expect(left).not.toContain(keyOf(url));
  });

  it('only the owner sees or touches a character: 404 for anyone else, and nothing changes', async () => {
    const c = await newCharacter(alice, '私有');
    const photo = data<Photo>(await as(alice).upload(c.id, png()));
    const before = await objects();
    const attempts = [
      await as(bob).get(c.id),
      await as(bob).update(c.id, { name: 'taken' }),
      await as(bob).upload(c.id, png()),
      await as(bob).addUrl(c.id, 'https://img.example.com/b.png'),
      await as(bob).photo(c.id, photo.id),
      await as(bob).removePhoto(c.id, photo.id),
      await as(bob).remove(c.id),
    ];
    for (const res of attempts) {
      expect(res.statusCode, res.body).toBe(404);
      expect(res.json<{ success: boolean }>().success).toBe(false);
    }
    expect(data<Page>(await as(bob).list()).items.map((x) => x.id)).not.toContain(c.id);
    expect(data<Character>(await as(alice).get(c.id))).toMatchObject({ name: '私有', photoCount: 1 });
    expect(await objects()).toEqual(before);
    // A photo id under another of one's own characters is not found either.
    const other = await newCharacter(alice, 'other');
    expect((await as(alice).photo(other.id, photo.id)).statusCode).toBe(404);
    expect((await as(alice).removePhoto(other.id, photo.id)).statusCode).toBe(404);
  });

  it('every route needs a signed-in caller', async () => {
    for (const [method, url] of [
      ['GET', '/v1/characters'],
      ['POST', '/v1/characters'],
      ['GET', '/v1/characters/x'],
      ['PUT', '/v1/characters/x'],
      ['DELETE', '/v1/characters/x'],
      ['POST', '/v1/characters/x/photos/upload'],
      ['POST', '/v1/characters/x/photos'],
      ['GET', '/v1/characters/x/photos/y'],
      ['DELETE', '/v1/characters/x/photos/y'],
    ] as const)
      expect(
        (await call(t.app, method, url, { body: method === 'GET' || method === 'DELETE' ? undefined : {} })).statusCode,
        `${method} ${url}`,
      ).toBe(401);
  });
});

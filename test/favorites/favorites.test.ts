import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_KEY_ENV, withKey } from '#test/admin/helpers.ts';
import {
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
} from '#test/gallery/helpers.ts';

interface Favorite {
  id: string;
  type: 'image' | 'prompt';
  targetId: string;
  target: { id: string; title: string } | null;
  createdAt: string;
}
interface Check {
  favorited: boolean;
  favoriteId: string | null;
}

describe.each(backends())('favorites on $label', (backend) => {
  let t: TestApp;
  let alice: RegisteredUser;
  let bob: RegisteredUser;
  let image: GalleryImage;
  let promptIds: string[];

  beforeAll(async () => {
    t = await createTestApp(backend, { env: ADMIN_KEY_ENV });
    alice = await registerUser(t);
    bob = await registerUser(t);
    image = await publish(t, bob, await uploadImage(t, bob), { title: '鲍勃的作品' });
    promptIds = (await getData<Page<{ id: string }>>(t, '/v1/templates/prompts?limit=100')).items.map((p) => p.id);
  });
  afterAll(() => t?.close());

  const add = (user: RegisteredUser, body: unknown) =>
    call(t.app, 'POST', '/v1/favorites', { token: user.accessToken, body });
  const check = (user: RegisteredUser, type: string, targetId: string) =>
    getData<Check>(t, `/v1/favorites/check?type=${type}&targetId=${encodeURIComponent(targetId)}`, user.accessToken);
  const rowsOf = async (user: RegisteredUser) =>
    (await t.app.services.database.db.selectFrom('favorites').select('id').where('user_id', '=', user.id).execute())
      .length;

  it('adding a favorite twice gives the same one (201, then 200), also when the adds race', async () => {
    const first = await add(alice, { type: 'image', targetId: image.id });
    expect(first.statusCode, first.body).toBe(201);
    const favorite = first.json<Envelope<Favorite>>().data;
    expect(favorite).toMatchObject({
      type: 'image',
      targetId: image.id,
      target: { id: image.id, title: '鲍勃的作品' },
    });
    const again = await add(alice, { type: 'image', targetId: image.id });
    expect(again.statusCode).toBe(200);
    expect(again.json<Envelope<Favorite>>().data).toEqual(favorite);

    const prompt = promptIds[0]!;
    const racing = await Promise.all(Array.from({ length: 8 }, () => add(alice, { type: 'prompt', targetId: prompt })));
    expect(racing.map((r) => r.statusCode).sort()).toEqual([200, 200, 200, 200, 200, 200, 200, 201]);
    expect(new Set(racing.map((r) => r.json<Envelope<Favorite>>().data.id)).size).toBe(1);
    expect(racing[0]!.json<Envelope<Favorite>>().data.target).toMatchObject({ id: prompt });
    expect(await rowsOf(alice)).toBe(2);
  });

  it('check says whether I have it and its id, per type and per user', async () => {
    const own = await check(alice, 'image', image.id);
    expect(own.favorited).toBe(true);
    const mine = (await getData<Page<Favorite>>(t, '/v1/favorites?type=image', alice.accessToken)).items[0]!;
    expect(own.favoriteId).toBe(mine.id);
    expect(await check(bob, 'image', image.id)).toEqual({ favorited: false, favoriteId: null });
    expect(await check(alice, 'prompt', image.id)).toEqual({ favorited: false, favoriteId: null });
    expect(await check(alice, 'image', 'no-such-image')).toEqual({ favorited: false, favoriteId: null });
    const bad = await call(t.app, 'GET', '/v1/favorites/check?type=video&targetId=x', { token: alice.accessToken });
    expect(bad.statusCode).toBe(400);
    expect((await call(t.app, 'GET', `/v1/favorites/check?type=image&targetId=${image.id}`)).statusCode).toBe(401);
  });

  it('a favorite of a missing image or prompt is 404 and stores nothing', async () => {
    const before = await rowsOf(alice);
    const cases: Array<[unknown, number, string]> = [
      [{ type: 'image', targetId: 'no-such-image' }, 404, 'GALLERY_IMAGE_NOT_FOUND'],
      [{ type: 'prompt', targetId: 'no-such-prompt' }, 404, 'PROMPT_TEMPLATE_NOT_FOUND'],
      // A prompt template's id is no gallery image, and the other way round.
      [{ type: 'image', targetId: promptIds[1]! }, 404, 'GALLERY_IMAGE_NOT_FOUND'],
      [{ type: 'prompt', targetId: image.id }, 404, 'PROMPT_TEMPLATE_NOT_FOUND'],
      [{ type: 'video', targetId: image.id }, 400, 'VALIDATION_FAILED'],
      [{ type: 'image' }, 400, 'VALIDATION_FAILED'],
    ];
    for (const [body, status, code] of cases) {
      const res = await add(alice, body);
      expect(res.statusCode, JSON.stringify(body)).toBe(status);
      expect(res.json<ErrorBody>()).toMatchObject({ success: false, statusCode: status, code, path: '/v1/favorites' });
    }
    expect(await rowsOf(alice)).toBe(before);
  });

  it('removing another user’s favorite is 404 and leaves it; removing mine works once', async () => {
    const bobs = (await add(bob, { type: 'prompt', targetId: promptIds[2]! })).json<Envelope<Favorite>>().data;
    const stolen = await call(t.app, 'DELETE', `/v1/favorites/${bobs.id}`, { token: alice.accessToken });
    expect(stolen.statusCode).toBe(404);
    expect(stolen.json<ErrorBody>().code).toBe('FAVORITE_NOT_FOUND');
    expect(await check(bob, 'prompt', promptIds[2]!)).toEqual({ favorited: true, favoriteId: bobs.id });

    const removed = await call(t.app, 'DELETE', `/v1/favorites/${bobs.id}`, { token: bob.accessToken });
    expect(removed.statusCode).toBe(200);
    expect(removed.json<Envelope<{ id: string; deleted: boolean }>>().data).toEqual({ id: bobs.id, deleted: true });
    expect(await check(bob, 'prompt', promptIds[2]!)).toEqual({ favorited: false, favoriteId: null });
    expect((await call(t.app, 'DELETE', `/v1/favorites/${bobs.id}`, { token: bob.accessToken })).statusCode).toBe(404);
  });

  it('lists mine newest first, by type, by page and by cursor without skipping or repeating', async () => {
    const user = await registerUser(t);
    const made: Favorite[] = [];
    for (const [i, id] of promptIds.entries()) {
      if (i % 3 === 0) t.clock.advance(1000); // some share a moment: the id breaks the tie
      const res = await add(user, { type: 'prompt', targetId: id });
      expect(res.statusCode).toBe(201);
      made.push(res.json<Envelope<Favorite>>().data);
    }
    t.clock.advance(1000);
    made.push((await add(user, { type: 'image', targetId: image.id })).json<Envelope<Favorite>>().data);
    const newest = [...made].sort((a, b) => b.createdAt.localeCompare(a.createdAt) || b.id.localeCompare(a.id));

    const all = await getData<Page<Favorite>>(t, '/v1/favorites?limit=100', user.accessToken);
    expect(all.total).toBe(11);
    expect(all.items.map((f) => f.id)).toEqual(newest.map((f) => f.id));
    for (const limit of [1, 3, 4]) {
      const paged = await allByCursor<Favorite>(t, '/v1/favorites', '', limit, user.accessToken);
      expect(paged.map((f) => f.id)).toEqual(newest.map((f) => f.id));
      const prompts = await allByCursor<Favorite>(t, '/v1/favorites', 'type=prompt', limit, user.accessToken);
      expect(prompts.map((f) => f.id)).toEqual(newest.filter((f) => f.type === 'prompt').map((f) => f.id));
    }
    const page2 = await getData<Page<Favorite>>(t, '/v1/favorites?page=2&limit=4', user.accessToken);
    expect(page2).toMatchObject({ page: 2, limit: 4, total: 11, hasMore: true });
    expect(page2.items.map((f) => f.id)).toEqual(newest.slice(4, 8).map((f) => f.id));
    const images = await getData<Page<Favorite>>(t, '/v1/favorites?type=image', user.accessToken);
    expect(images.items.map((f) => f.targetId)).toEqual([image.id]);
    // Nobody else's favorites are in my list.
    expect((await getData<Page<Favorite>>(t, '/v1/favorites?limit=100', bob.accessToken)).items).toEqual([]);
  });

  it('a favorite of an image taken down stays in the list with no target', async () => {
    const user = await registerUser(t);
    const gone = await publish(t, bob, await uploadImage(t, bob));
    const favorite = (await add(user, { type: 'image', targetId: gone.id })).json<Envelope<Favorite>>().data;
    expect((await withKey(t.app, 'DELETE', `/v1/admin/gallery/images/${gone.id}`)).statusCode).toBe(200);
    const list = await getData<Page<Favorite>>(t, '/v1/favorites', user.accessToken);
    expect(list.items).toEqual([{ ...favorite, target: null }]);
    expect((await add(user, { type: 'image', targetId: gone.id })).statusCode).toBe(404);
  });
});

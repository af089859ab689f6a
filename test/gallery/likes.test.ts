import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  backends,
  call,
  createTestApp,
  registerUser,
  type RegisteredUser,
  type TestApp,
} from '#test/helpers/test-app.ts';
import { getData, publish, uploadImage, type GalleryImage, type Page } from './helpers.ts';

/**
 * Like counts stay exact when likes race: each like is a row (one per user and image) and the count
 * moves only in the transaction that inserted or deleted one.
 */
describe.each(backends())('concurrent likes on $label', (backend) => {
  let t: TestApp;
  let users: RegisteredUser[];
  let image: GalleryImage;

  beforeAll(async () => {
    t = await createTestApp(backend);
    users = [];
    for (let i = 0; i < 20; i++) users.push(await registerUser(t));
    image = await publish(t, users[0]!, await uploadImage(t, users[0]!));
  });
  afterAll(() => t?.close());

  const like = (user: RegisteredUser, method: 'POST' | 'DELETE' = 'POST') =>
    call(t.app, method, `/v1/gallery/images/${image.id}/like`, { token: user.accessToken });
  const stored = async () => {
    const db = t.app.services.database.db;
    const row = await db
      .selectFrom('gallery_images')
      .select('like_count')
      .where('id', '=', image.id)
      .executeTakeFirstOrThrow();
    const likes = await db.selectFrom('gallery_likes').select('user_id').where('image_id', '=', image.id).execute();
    return { count: Number(row.like_count), rows: likes.length };
  };
  const listed = async () =>
    (await getData<Page<GalleryImage>>(t, '/v1/gallery/images?limit=100')).items.find((i) => i.id === image.id)!
      .likeCount;

  it('20 users liking at once: exactly 20', async () => {
    const answers = await Promise.all(users.map((user) => like(user)));
    expect(answers.map((r) => r.statusCode)).toEqual(users.map(() => 200));
    expect(await stored()).toEqual({ count: 20, rows: 20 });
    expect(await listed()).toBe(20);
  });

  it('one user liking 20 times at once counts once; unliking 20 times at once takes one away', async () => {
    const one = users[3]!;
    await like(one, 'DELETE');
    expect(await stored()).toEqual({ count: 19, rows: 19 });
    const likes = await Promise.all(Array.from({ length: 20 }, () => like(one)));
    expect(likes.every((r) => r.statusCode === 200)).toBe(true);
    expect(await stored()).toEqual({ count: 20, rows: 20 });
    const unlikes = await Promise.all(Array.from({ length: 20 }, () => like(one, 'DELETE')));
    expect(unlikes.every((r) => r.statusCode === 200)).toBe(true);
    expect(await stored()).toEqual({ count: 19, rows: 19 });
  });

  it('likes and unlikes of many users interleaved: the count is the number of likes left', async () => {
    const requests = users.flatMap((user, i) => [like(user, i % 2 === 0 ? 'DELETE' : 'POST'), like(user)]);
    const answers = await Promise.all(requests);
    expect(answers.every((r) => r.statusCode === 200)).toBe(true);
    const { count, rows } = await stored();
    expect(count).toBe(rows);
    expect(await listed()).toBe(rows);
  });
});

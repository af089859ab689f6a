import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '#core/http/route-config.ts';
import { FakeWeChat } from '#test/fakes/wechat.ts';
import { createSharedBackend, type SharedBackend } from '#test/helpers/instances.ts';
import { backends, call, freshIp } from '#test/helpers/test-app.ts';
import { wechatEnv } from './helpers.ts';

describe.each(backends())('WeChat sign-in on three instances, $label', (backend) => {
  let shared: SharedBackend;
  let fake: FakeWeChat;
  let apps: App[];
  beforeAll(async () => {
    fake = await FakeWeChat.start();
    shared = await createSharedBackend(backend);
    apps = [];
    for (let i = 0; i < 3; i++) apps.push(await shared.start(wechatEnv(fake)));
  });
  afterAll(async () => {
    await shared.close();
    await fake.close();
  });

  const login = (app: App, user = FakeWeChat.newUser(), ip = freshIp()) =>
    call(app, 'POST', '/v1/auth/wechat-login', { body: { code: fake.login(user) }, ip });

  it('makes one account and one bonus of 20 parallel first sign-ins spread over the instances', async () => {
    // With Redis the instances share the first-sign-in lock; in memory each has its own, and the
    // unique index of openids decides: the losers sign in to the account that won.
    const user = FakeWeChat.newUser();
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => login(apps[i % 3]!, user)));
    expect(answers.map((a) => a.statusCode)).toEqual(Array(20).fill(200));
    const bodies = answers.map((a) => a.json<{ data: { isNewUser: boolean; user: { id: string } } }>().data);
    expect(new Set(bodies.map((b) => b.user.id)).size).toBe(1);
    expect(bodies.filter((b) => b.isNewUser)).toHaveLength(1);
    const db = apps[0]!.services.database.db;
    const bonuses = await db
      .selectFrom('credit_ledger')
      .select('amount')
      .where('user_id', '=', bodies[0]!.user.id)
      .where('kind', '=', 'signup_bonus')
      .execute();
    expect(bonuses).toHaveLength(1);
    expect(await apps[1]!.services.credits.account(bodies[0]!.user.id)).toMatchObject({ balance: 1000 });
  });

  // Only where the instances share a store: with process memory each instance keeps its own token (one
  // instance refreshing once is test/wechat/phone.test.ts). Registered, not skipped, so a run reports no skip.
  if (backend.kv === 'redis')
    it('refreshes a stale WeChat access token once for all instances, and every phone request succeeds', async () => {
      const tokens = await Promise.all(
        apps.map(async (app) => {
          const res = await login(app);
          return res.json<{ data: { accessToken: string } }>().data.accessToken;
        }),
      );
      const phone = (i: number) =>
        call(apps[i]!, 'POST', '/v1/auth/phone', { token: tokens[i]!, body: { code: fake.phoneCode() } });
      expect((await phone(0)).statusCode).toBe(200);
      const issued = fake.tokensIssued.length;
      const asked = fake.calls.token;
      fake.expireAccessToken(); // the token every instance reads from Redis is now stale
      const answers = await Promise.all([0, 1, 2, 0, 1, 2].map((i) => phone(i)));
      expect(answers.map((a) => a.statusCode)).toEqual(Array(6).fill(200));
      expect(fake.tokensIssued.length).toBe(issued + 1);
      expect(fake.calls.token - asked, 'token requests to WeChat').toBe(1);
    });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SecretBox } from '#core/crypto.ts';
import { FakeWeChat } from '#test/fakes/wechat.ts';
import { backends, call, createTestApp, freshIp, TEST_SECRETS } from '#test/helpers/test-app.ts';
import { startWeChatApp, wechatLogin, type WeChatTestApp } from './helpers.ts';

describe.each(backends())('WeChat sign-in on $label', (backend) => {
  let w: WeChatTestApp;
  beforeAll(async () => {
    w = await startWeChatApp(backend);
  });
  afterAll(() => w.close());

  const userRow = (id: string) =>
    w.t.app.services.database.db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirstOrThrow();

  it('creates an account for a new openid, with the sign-up bonus, and keeps the session key sealed', async () => {
    const user = FakeWeChat.newUser();
    const code = w.fake.login(user);
    const res = await call(w.t.app, 'POST', '/v1/auth/wechat-login', {
      body: { code, nickname: '小明', avatarUrl: 'https://thirdwx.qlogo.cn/a.png' },
      ip: freshIp(),
    });
    expect(res.statusCode, res.body).toBe(200);
    const sessionKey = w.fake.sessionKeyOf(code)!;
    expect(res.body).not.toContain(sessionKey);
    expect(res.body).not.toContain(user.openid);
    const { data } = res.json<{ data: Record<string, unknown> & { user: Record<string, unknown> } }>();
    expect(data).toMatchObject({ tokenType: 'Bearer', expiresIn: 3600, isNewUser: true });
    expect(data.user).toMatchObject({
      nickname: '小明',
      avatarUrl: 'https://thirdwx.qlogo.cn/a.png',
      email: null,
      phone: null,
      wechatLinked: true,
      hasPassword: false,
      role: 'user',
      status: 'active',
    });
    const id = data.user.id as string;
    expect(await w.t.app.services.credits.account(id)).toMatchObject({ balance: 1000 });
    const row = await userRow(id);
    expect(row.wechat_openid).toBe(user.openid);
    expect(row.wechat_session_key).not.toContain(sessionKey);
    expect(new SecretBox(TEST_SECRETS.MASTER_KEY).open(row.wechat_session_key!)).toBe(sessionKey);
    // The access token works on the canonical API too.
    const profile = await call(w.t.app, 'GET', '/api/user/profile', { token: data.accessToken as string });
    expect(profile.statusCode, profile.body).toBe(200);
    expect(profile.json()).toMatchObject({ id, email: null });
  });

  it('signs a returning user in to the same account, with no second bonus, and takes a new nickname', async () => {
    const user = FakeWeChat.newUser(true);
    const first = await wechatLogin(w, user);
    const again = await wechatLogin(w, user, { body: { nickname: 'Again' } });
    expect(again.isNewUser).toBe(false);
    expect(again.user.id).toBe(first.user.id);
    expect(again.user.nickname).toBe('Again');
    expect(again.accessToken).not.toBe(first.accessToken);
    expect(await w.t.app.services.credits.account(first.user.id)).toMatchObject({ balance: 1000 });
    expect((await userRow(first.user.id)).wechat_unionid).toBe(user.unionid);
  });

  it('finds the account by unionid when the same person comes from another app of the Open Platform account', async () => {
    const user = FakeWeChat.newUser(true);
    const first = await wechatLogin(w, user);
    const other = await wechatLogin(w, { openid: FakeWeChat.newUser().openid, unionid: user.unionid });
    expect(other.isNewUser).toBe(false);
    expect(other.user.id).toBe(first.user.id);
  });

  it('answers a used or unknown code with 400 in the error envelope, and creates nothing', async () => {
    const users = async () => (await w.t.app.services.database.db.selectFrom('users').select('id').execute()).length;
    const before = await users();
    const code = w.fake.login();
    expect((await call(w.t.app, 'POST', '/v1/auth/wechat-login', { body: { code } })).statusCode).toBe(200);
    const reused = await call(w.t.app, 'POST', '/v1/auth/wechat-login', { body: { code }, lang: 'en' });
    expect(reused.statusCode).toBe(400);
    expect(reused.json()).toMatchObject({
      success: false,
      statusCode: 400,
      message: expect.stringContaining('wx.login'),
      path: '/v1/auth/wechat-login',
    });
    const unknown = await call(w.t.app, 'POST', '/v1/auth/wechat-login', { body: { code: 'deadbeef' } });
    expect(unknown.statusCode).toBe(400);
    expect(unknown.json<{ message: string }>().message).toContain('code');
    expect(await users()).toBe(before + 1);
    const missing = await call(w.t.app, 'POST', '/v1/auth/wechat-login', { body: {} });
    expect(missing.statusCode).toBe(400);
  });

  it('answers WeChat busy or rate limiting with 503 and Retry-After, and WeChat unreachable or slow with 503, never 500', async () => {
    const attempt = () => call(w.t.app, 'POST', '/v1/auth/wechat-login', { body: { code: w.fake.login() } });
    w.fake.failNext('jscode2session', 45011);
    const limited = await attempt();
    expect(limited.statusCode).toBe(503);
    expect(limited.headers['retry-after']).toBe('60');
    w.fake.failNext('jscode2session', -1);
    const busy = await attempt();
    expect(busy.statusCode).toBe(503);
    expect(busy.headers['retry-after']).toBe('2');
    w.fake.failNext('jscode2session', 40125); // Tollgate's secret refused: an operator's problem, not the user's
    expect((await attempt()).statusCode).toBe(503);
    w.fake.delayMs = 1500; // past WECHAT_TIMEOUT (1 s)
    expect((await attempt()).statusCode).toBe(503);
    w.fake.recover();
    w.fake.unreachable();
    const down = await attempt();
    expect(down.statusCode).toBe(503);
    expect(down.json()).toMatchObject({ success: false, statusCode: 503 });
    w.fake.recover();
    expect((await attempt()).statusCode).toBe(200);
  });

  it('refuses a disabled account', async () => {
    const user = FakeWeChat.newUser();
    const first = await wechatLogin(w, user);
    await w.t.app.services.users.change(first.user.id, { status: 'disabled' });
    const res = await call(w.t.app, 'POST', '/v1/auth/wechat-login', { body: { code: w.fake.login(user) } });
    expect(res.statusCode).toBe(403);
  });

  it('gives the bonus to the first SIGNUP_BONUS_PER_IP_DAILY new accounts of one IP only, as email sign-up does', async () => {
    const ip = freshIp();
    const balances: number[] = [];
    for (let i = 0; i < 4; i++) {
      const login = await wechatLogin(w, FakeWeChat.newUser(), { ip });
      balances.push((await w.t.app.services.credits.account(login.user.id)).balance);
    }
    expect(balances).toEqual([1000, 1000, 1000, 0]);
  });

  it('makes one account and one bonus of 20 parallel first sign-ins of one openid', async () => {
    const user = FakeWeChat.newUser();
    const ip = freshIp();
    const answers = await Promise.all(
      Array.from({ length: 20 }, () =>
        call(w.t.app, 'POST', '/v1/auth/wechat-login', { body: { code: w.fake.login(user) }, ip }),
      ),
    );
    expect(answers.map((a) => a.statusCode)).toEqual(Array(20).fill(200));
    const bodies = answers.map((a) => a.json<{ data: { isNewUser: boolean; user: { id: string } } }>().data);
    expect(new Set(bodies.map((b) => b.user.id)).size).toBe(1);
    expect(bodies.filter((b) => b.isNewUser)).toHaveLength(1);
    const db = w.t.app.services.database.db;
    expect(await db.selectFrom('users').select('id').where('wechat_openid', '=', user.openid).execute()).toHaveLength(
      1,
    );
    const bonuses = await db
      .selectFrom('credit_ledger')
      .select('amount')
      .where('user_id', '=', bodies[0]!.user.id)
      .where('kind', '=', 'signup_bonus')
      .execute();
    expect(bonuses.map((b) => Number(b.amount))).toEqual([1000]);
    // Only one account was counted against the IP's daily bonuses: the next new account from it still gets one.
    const next = await wechatLogin(w, FakeWeChat.newUser(), { ip });
    expect((await w.t.app.services.credits.account(next.user.id)).balance).toBe(1000);
  });
});

describe('WeChat sign-in without WECHAT_APPID and WECHAT_SECRET', () => {
  it('answers 503 "not configured", clearly', async () => {
    const t = await createTestApp();
    try {
      const res = await call(t.app, 'POST', '/v1/auth/wechat-login', { body: { code: 'abc' }, lang: 'en' });
      expect(res.statusCode).toBe(503);
      expect(res.json()).toMatchObject({ success: false, message: expect.stringContaining('not configured') });
    } finally {
      await t.close();
    }
  });
});

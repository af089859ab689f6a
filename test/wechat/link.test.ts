import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeWeChat } from '#test/fakes/wechat.ts';
import { backends, call, freshEmail, freshIp, registerUser, STRONG_PASSWORD } from '#test/helpers/test-app.ts';
import { startWeChatApp, wechatLogin, type WeChatTestApp } from './helpers.ts';

describe.each(backends())('linking email and WeChat sign-in on $label', (backend) => {
  let w: WeChatTestApp;
  beforeAll(async () => {
    w = await startWeChatApp(backend);
  });
  afterAll(() => w.close());

  const sendCode = async (email: string) => {
    const res = await call(w.t.app, 'POST', '/api/auth/send-code', { body: { email }, ip: freshIp() });
    expect(res.statusCode, res.body).toBe(200);
    return w.t.lastCode(email);
  };
  const linkEmail = (token: string, body: Record<string, unknown>) =>
    call(w.t.app, 'POST', '/v1/auth/email-link', { token, body });
  const linkWeChat = (token: string, code: string) =>
    call(w.t.app, 'POST', '/v1/auth/wechat-link', { token, body: { code } });
  const codeOf = (res: { json: () => unknown }) => (res.json() as { code: string }).code;

  it('lets a WeChat user add an email and password (code-verified), then sign in to the web console with them', async () => {
    const wx = await wechatLogin(w);
    const email = freshEmail('wx');
    const wrong = await linkEmail(wx.accessToken, { email, code: '000000', password: STRONG_PASSWORD });
    expect(wrong.statusCode).toBe(400);
    const weak = await linkEmail(wx.accessToken, { email, code: await sendCode(email), password: 'weak' });
    expect(weak.statusCode).toBe(400);
    const res = await linkEmail(wx.accessToken, { email, code: w.t.lastCode(email), password: STRONG_PASSWORD });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ success: true, data: { email, hasPassword: true, wechatLinked: true } });

    const login = await call(w.t.app, 'POST', '/api/auth/login', { body: { email, password: STRONG_PASSWORD } });
    expect(login.statusCode, login.body).toBe(200);
    expect(login.json()).toMatchObject({ user: { id: wx.user.id, email } });
    // A second email is refused: the account has one.
    const other = freshEmail('wx2');
    const again = await linkEmail(wx.accessToken, {
      email: other,
      code: await sendCode(other),
      password: STRONG_PASSWORD,
    });
    expect(again.statusCode).toBe(409);
    expect(codeOf(again)).toBe('ACCOUNT_HAS_EMAIL');
  });

  it('refuses an email another account has with 409, and a WeChat-only account cannot sign in with a password', async () => {
    const taken = await registerUser(w.t);
    const wx = await wechatLogin(w);
    const res = await linkEmail(wx.accessToken, { email: taken.email, code: '123456', password: STRONG_PASSWORD });
    expect(res.statusCode).toBe(409);
    expect(codeOf(res)).toBe('EMAIL_ALREADY_REGISTERED');
    const info = await call(w.t.app, 'GET', '/v1/auth/userinfo', { token: wx.accessToken });
    expect(info.json()).toMatchObject({ data: { email: null, hasPassword: false } });
  });

  it('refuses a password sign-in of an account that has an email but no password as a wrong password, never a 500', async () => {
    const wx = await wechatLogin(w);
    const email = freshEmail('nopw');
    await w.t.app.services.database.db.updateTable('users').set({ email }).where('id', '=', wx.user.id).execute();
    const res = await call(w.t.app, 'POST', '/api/auth/login', { body: { email, password: STRONG_PASSWORD } });
    expect(res.statusCode).toBe(401);
    const seed2 = await call(w.t.app, 'POST', '/api/v1/auth/login', { body: { email, password: STRONG_PASSWORD } });
    expect(seed2.statusCode).toBe(401);
  });

  it('lets an email user link a WeChat identity, which then signs in to the same account', async () => {
    const user = await registerUser(w.t);
    const identity = FakeWeChat.newUser();
    const res = await linkWeChat(user.accessToken, w.fake.login(identity));
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ data: { id: user.id, wechatLinked: true, email: user.email } });
    const wx = await wechatLogin(w, identity);
    expect(wx).toMatchObject({ isNewUser: false, user: { id: user.id } });
    expect(await w.t.app.services.credits.account(user.id)).toMatchObject({ balance: 1000 }); // no second bonus
  });

  it('keeps one identity to one account: 409 for an identity another account has, or an account that has another', async () => {
    const holder = await wechatLogin(w);
    const user = await registerUser(w.t);
    const taken = await linkWeChat(user.accessToken, w.fake.login({ openid: holder.openid }));
    expect(taken.statusCode).toBe(409);
    expect(codeOf(taken)).toBe('WECHAT_ALREADY_LINKED');
    expect((await linkWeChat(user.accessToken, w.fake.login())).statusCode).toBe(200);
    const second = await linkWeChat(user.accessToken, w.fake.login());
    expect(second.statusCode).toBe(409);
    expect(codeOf(second)).toBe('ACCOUNT_HAS_WECHAT');
    const badCode = await linkWeChat(user.accessToken, 'nonsense');
    expect(badCode.statusCode).toBe(400);

    // Two email accounts linking one new identity at once: one wins, the other is told 409.
    const [a, b] = [await registerUser(w.t), await registerUser(w.t)];
    const identity = FakeWeChat.newUser();
    const answers = await Promise.all([
      linkWeChat(a.accessToken, w.fake.login(identity)),
      linkWeChat(b.accessToken, w.fake.login(identity)),
    ]);
    expect(answers.map((r) => r.statusCode).sort()).toEqual([200, 409]);
  });

  it('unlinks a way in only while another remains', async () => {
    const wx = await wechatLogin(w);
    const lonely = await call(w.t.app, 'DELETE', '/v1/auth/wechat-link', { token: wx.accessToken });
    expect(lonely.statusCode).toBe(409);
    expect(codeOf(lonely)).toBe('LAST_SIGN_IN_METHOD');
    const emailOnly = await registerUser(w.t);
    const noEmailLeft = await call(w.t.app, 'DELETE', '/v1/auth/email-link', { token: emailOnly.accessToken });
    expect(codeOf(noEmailLeft)).toBe('LAST_SIGN_IN_METHOD');

    const email = freshEmail('both');
    await linkEmail(wx.accessToken, { email, code: await sendCode(email), password: STRONG_PASSWORD });
    const unlinked = await call(w.t.app, 'DELETE', '/v1/auth/wechat-link', { token: wx.accessToken });
    expect(unlinked.statusCode, unlinked.body).toBe(200);
    expect(unlinked.json()).toMatchObject({ data: { wechatLinked: false, email } });
    // The identity is free again: signing in with it makes a new account.
    const fresh = await wechatLogin(w, { openid: wx.openid });
    expect(fresh.isNewUser).toBe(true);
    expect(fresh.user.id).not.toBe(wx.user.id);
    expect((await call(w.t.app, 'DELETE', '/v1/auth/email-link', { token: wx.accessToken })).statusCode).toBe(409);
  });
});

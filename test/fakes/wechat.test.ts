import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeWeChat } from './wechat.ts';

/** The fake speaks WeChat's protocol (shared/reference/protocols.md §1) to any HTTP client. */
describe('the fake WeChat server', () => {
  let fake: FakeWeChat;
  beforeAll(async () => {
    fake = await FakeWeChat.start();
  });
  afterAll(() => fake.close());

  const get = async (path: string) => {
    const res = await request(`${fake.baseUrl}${path}`);
    return {
      status: res.statusCode,
      type: String(res.headers['content-type']),
      body: JSON.parse(await res.body.text()) as Record<string, unknown>,
    };
  };
  const post = async (path: string, body: unknown) => {
    const res = await request(`${fake.baseUrl}${path}`, { method: 'POST', body: JSON.stringify(body) });
    return JSON.parse(await res.body.text()) as Record<string, unknown>;
  };
  const session = (code: string, secret = fake.secret) =>
    get(`/sns/jscode2session?appid=${fake.appid}&secret=${secret}&js_code=${code}&grant_type=authorization_code`);

  it('exchanges a code once: openid and session_key without errcode, then 40163; unknown 40029; bad secret 40125; all HTTP 200', async () => {
    const user = FakeWeChat.newUser(true);
    const code = fake.login(user);
    const first = await session(code);
    expect(first.status).toBe(200);
    expect(first.body).toEqual({ openid: user.openid, unionid: user.unionid, session_key: fake.sessionKeyOf(code) });
    expect(user.openid).toMatch(/^o.{27}$/);
    const again = await session(code);
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ errcode: 40163, errmsg: expect.stringMatching(/^code been used, rid: /) });
    expect((await session('nope')).body).toMatchObject({ errcode: 40029 });
    expect((await session(fake.login(), 'wrong')).body).toMatchObject({ errcode: 40125 });
    fake.failNext('jscode2session', 45011);
    expect((await session(fake.login())).body).toMatchObject({ errcode: 45011 });
    const types = new Set([(await session('x')).type, (await session('y')).type]);
    expect(types).toEqual(new Set(['text/plain', 'application/json; encoding=utf-8']));
  });

  it('gives the same stable token while it is valid, a new one when forced or expired; the phone API takes only a valid one', async () => {
    const ask = (force = false) =>
      post('/cgi-bin/stable_token', {
        grant_type: 'client_credential',
        appid: fake.appid,
        secret: fake.secret,
        force_refresh: force,
      });
    const a = await ask();
    expect(a).toEqual({ access_token: expect.any(String), expires_in: 7200 });
    expect((await ask()).access_token).toBe(a.access_token);
    const phoneCode = fake.phoneCode('+8613800000000');
    const phone = await post(`/wxa/business/getuserphonenumber?access_token=${String(a.access_token)}`, {
      code: phoneCode,
    });
    expect(phone).toMatchObject({
      errcode: 0,
      errmsg: 'ok',
      phone_info: {
        phoneNumber: '+8613800000000',
        purePhoneNumber: '13800000000',
        countryCode: '86',
        watermark: { appid: fake.appid },
      },
    });
    expect(
      await post(`/wxa/business/getuserphonenumber?access_token=${String(a.access_token)}`, { code: phoneCode }),
    ).toMatchObject({ errcode: 40029 });
    const forced = await ask(true);
    expect(forced.access_token).not.toBe(a.access_token);
    expect(
      await post(`/wxa/business/getuserphonenumber?access_token=${String(a.access_token)}`, { code: fake.phoneCode() }),
    ).toMatchObject({ errcode: 40001 });
    fake.expireAccessToken();
    expect((await ask()).access_token).not.toBe(forced.access_token);
  });

  it('drops connections while unreachable', async () => {
    fake.unreachable();
    await expect(session(fake.login())).rejects.toThrow();
    fake.recover();
    expect((await session(fake.login())).body).toHaveProperty('openid');
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MINUTE } from '#test/helpers/clock.ts';
import {
  backends,
  call,
  createTestApp,
  freshEmail,
  freshIp,
  registerUser,
  STRONG_PASSWORD,
  type TestApp,
} from '#test/helpers/test-app.ts';

const CODE_INVALID = '验证码无效或已过期';
const WEAK_PASSWORD = '密码长度为8-50位，且必须包含大写字母、小写字母和数字';

describe.each(backends())('registration on $label', (backend) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(backend);
  });
  afterAll(() => t.close());

  const userCount = async () =>
    Number(
      (
        await t.app.services.database.db
          .selectFrom('users')
          .select((eb) => eb.fn.countAll().as('n'))
          .executeTakeFirstOrThrow()
      ).n,
    );
  const usersWithEmail = async (email: string) =>
    Number(
      (
        await t.app.services.database.db
          .selectFrom('users')
          .select((eb) => eb.fn.countAll().as('n'))
          .where('email', '=', email.toLowerCase())
          .executeTakeFirstOrThrow()
      ).n,
    );

  /** Sends a sign-up code to a new email and returns both. */
  async function codeFor(email = freshEmail()) {
    const sent = await call(t.app, 'POST', '/api/auth/send-code', { body: { email }, ip: freshIp() });
    expect(sent.statusCode).toBe(200);
    return { email, code: t.lastCode(email) };
  }

  function register(body: Record<string, unknown>, lang?: string) {
    return call(t.app, 'POST', '/api/auth/register', { body, ip: freshIp(), ...(lang ? { lang } : {}) });
  }

  it('mails a code, registers with it, and the new token reads the profile', async () => {
    const email = freshEmail();
    const ip = freshIp();
    const sent = await call(t.app, 'POST', '/api/auth/send-code', { body: { email }, ip });
    expect(sent.statusCode).toBe(200);
    expect(sent.json()).toEqual({ message: '验证码已发送到您的邮箱' });

    const code = t.lastCode(email);
    const res = await call(t.app, 'POST', '/api/auth/register', {
      body: { email, password: STRONG_PASSWORD, username: 'Alice', code },
      ip,
    });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.user).toMatchObject({ email, username: 'Alice', role: 'user' });
    expect(typeof body.access_token).toBe('string');

    const profile = await call(t.app, 'GET', '/api/user/profile', { token: body.access_token });
    expect(profile.statusCode).toBe(200);
    expect(profile.json()).toMatchObject({ id: body.user.id, email, username: 'Alice' });
    expect(new Date(profile.json().createdAt).toISOString()).toBe(profile.json().createdAt);
  });

  it('answers with the seed session fields plus a refresh token, and never the password hash', async () => {
    const { email, code } = await codeFor();
    const res = await register({ email, password: STRONG_PASSWORD, username: '  Bob  ', code });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(Object.keys(body).sort()).toEqual(['access_token', 'expires_in', 'refresh_token', 'token_type', 'user']);
    expect(body).toMatchObject({ token_type: 'Bearer', expires_in: t.config.ACCESS_TOKEN_TTL });
    expect(Object.keys(body.user).sort()).toEqual(['email', 'id', 'role', 'username']);
    expect(body.user.username).toBe('Bob');
    expect(res.body).not.toContain('argon2');
  });

  it('refuses a wrong, an expired and a used code, and writes nothing', async () => {
    const email = freshEmail();
    const ip = freshIp();
    await call(t.app, 'POST', '/api/auth/send-code', { body: { email }, ip });
    const code = t.lastCode(email);
    const wrong = code === '000000' ? '111111' : '000000';
    const before = await userCount();

    const bad = await call(t.app, 'POST', '/api/auth/register', {
      body: { email, password: STRONG_PASSWORD, username: 'b', code: wrong },
      ip,
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toMatchObject({
      success: false,
      statusCode: 400,
      error: 'Bad Request',
      message: '验证码无效或已过期',
      path: '/api/auth/register',
    });

    t.clock.advance(5 * MINUTE + 1);
    const expired = await call(t.app, 'POST', '/api/auth/register', {
      body: { email, password: STRONG_PASSWORD, username: 'b', code },
      ip,
    });
    expect(expired.statusCode).toBe(400);
    expect(await userCount()).toBe(before);
  });

  it('accepts a code until the end of its 5 minutes', async () => {
    const { email, code } = await codeFor();
    t.clock.advance(5 * MINUTE - 1000);
    expect((await register({ email, password: STRONG_PASSWORD, username: 'late', code })).statusCode).toBe(200);
  });

  it('accepts a code only for the email it was mailed to', async () => {
    const { code } = await codeFor();
    const other = await codeFor();
    const stranger = other.code === code ? freshEmail() : other.email;
    const res = await register({ email: stranger, password: STRONG_PASSWORD, username: 'x', code });
    expect(res.statusCode).toBe(400);
    expect(res.json().message).toBe(CODE_INVALID);
    expect(await usersWithEmail(stranger)).toBe(0);
  });

  it('kills the code after EMAIL_CODE_MAX_ATTEMPTS wrong guesses, but not before', async () => {
    const max = t.config.EMAIL_CODE_MAX_ATTEMPTS;
    const guess = (code: string) => (code === '000000' ? '111111' : '000000');

    const survivor = await codeFor();
    for (let i = 1; i < max; i++) {
      expect(
        (
          await register({
            email: survivor.email,
            password: STRONG_PASSWORD,
            username: 's',
            code: guess(survivor.code),
          })
        ).statusCode,
      ).toBe(400);
    }
    expect(
      (await register({ email: survivor.email, password: STRONG_PASSWORD, username: 's', code: survivor.code }))
        .statusCode,
    ).toBe(200);

    const victim = await codeFor();
    for (let i = 0; i < max; i++) {
      expect(
        (await register({ email: victim.email, password: STRONG_PASSWORD, username: 'v', code: guess(victim.code) }))
          .statusCode,
      ).toBe(400);
    }
    const dead = await register({ email: victim.email, password: STRONG_PASSWORD, username: 'v', code: victim.code });
    expect(dead.statusCode).toBe(400);
    expect(dead.json().message).toBe(CODE_INVALID);
    expect(await usersWithEmail(victim.email)).toBe(0);
  });

  it.each([
    ['shorter than 8 characters', 'Abcde12'],
    ['longer than 50 characters', `Ab1${'x'.repeat(48)}`],
    ['without an upper-case letter', 'abcdefg123'],
    ['without a lower-case letter', 'ABCDEFG123'],
    ['without a digit', 'Abcdefghij'],
  ])('refuses a password %s with the policy message and leaves the code usable', async (_rule, password) => {
    const { email, code } = await codeFor();
    const weak = await register({ email, password, username: 'w', code });
    expect(weak.statusCode).toBe(400);
    expect(weak.json()).toMatchObject({
      success: false,
      statusCode: 400,
      error: 'Bad Request',
      code: 'WEAK_PASSWORD',
      message: WEAK_PASSWORD,
    });
    expect(await usersWithEmail(email)).toBe(0);

    expect((await register({ email, password: STRONG_PASSWORD, username: 'w', code })).statusCode).toBe(200);
  });

  it('accepts passwords of exactly 8 and exactly 50 characters, and they sign in', async () => {
    for (const password of ['Abcdef12', `Ab1${'x'.repeat(47)}`]) {
      const { email, code } = await codeFor();
      expect((await register({ email, password, username: 'edge', code })).statusCode).toBe(200);
      expect(
        (await call(t.app, 'POST', '/api/auth/login', { body: { email, password }, ip: freshIp() })).statusCode,
      ).toBe(200);
    }
  });

  it('refuses malformed requests with a 4xx envelope, creates nothing, and the code still works', async () => {
    const { email, code } = await codeFor();
    const good = { email, password: STRONG_PASSWORD, username: 'careful', code };
    const json = { 'content-type': 'application/json' };
    const cases: {
      name: string;
      body?: unknown;
      headers?: Record<string, string>;
      status: number;
      message: string | RegExp;
    }[] = [
      {
        name: 'missing code',
        body: { ...good, code: undefined },
        status: 400,
        message: '请求参数无效：缺少必填字段 code',
      },
      {
        name: 'missing email',
        body: { ...good, email: undefined },
        status: 400,
        message: '请求参数无效：缺少必填字段 email',
      },
      {
        name: 'missing password',
        body: { ...good, password: undefined },
        status: 400,
        message: '请求参数无效：缺少必填字段 password',
      },
      {
        name: 'unknown field',
        body: { ...good, role: 'admin' },
        status: 400,
        message: '请求参数无效：不允许的字段 role',
      },
      { name: 'code as a number', body: { ...good, code: Number(code) }, status: 400, message: /code/ },
      { name: 'password as a number', body: { ...good, password: 12345678 }, status: 400, message: /password/ },
      { name: 'email as an array', body: { ...good, email: [email] }, status: 400, message: /email/ },
      { name: 'invalid email', body: { ...good, email: 'nobody' }, status: 400, message: /email/ },
      { name: 'five-digit code', body: { ...good, code: code.slice(1) }, status: 400, message: /code/ },
      { name: 'blank username', body: { ...good, username: '   ' }, status: 400, message: /username/ },
      { name: 'empty username', body: { ...good, username: '' }, status: 400, message: /username/ },
      {
        name: 'username of 65 characters',
        body: { ...good, username: 'x'.repeat(65) },
        status: 400,
        message: /username/,
      },
      { name: 'username as a number', body: { ...good, username: 42 }, status: 400, message: /username/ },
      {
        name: 'malformed JSON',
        body: '{"email": "a@b.c",',
        headers: json,
        status: 400,
        message: '请求体不是有效的 JSON',
      },
      { name: 'empty JSON body', body: '', headers: json, status: 400, message: '请求体不能为空' },
      { name: 'JSON null', body: 'null', headers: json, status: 400, message: /请求参数无效/ },
      { name: 'JSON array', body: JSON.stringify([good]), headers: json, status: 400, message: /请求参数无效/ },
      { name: 'no body at all', status: 400, message: /请求参数无效/ },
      {
        name: 'an XML body',
        body: '<user/>',
        headers: { 'content-type': 'application/xml' },
        status: 415,
        message: /application\/xml/,
      },
      {
        name: 'an oversized body',
        body: { ...good, username: 'x'.repeat(t.config.BODY_LIMIT) },
        status: 413,
        message: '请求体过大',
      },
    ];
    for (const c of cases) {
      const payload = c.body === undefined || typeof c.body === 'string' ? c.body : JSON.stringify(c.body);
      const res = await call(t.app, 'POST', '/api/auth/register', {
        body: payload,
        headers: c.headers ?? (payload === undefined ? {} : json),
        ip: freshIp(),
      });
      expect(res.statusCode, c.name).toBe(c.status);
      const body = res.json();
      expect(body, c.name).toMatchObject({ success: false, statusCode: c.status, path: '/api/auth/register' });
      expect(typeof body.error, c.name).toBe('string');
      expect(new Date(body.timestamp).toISOString(), c.name).toBe(body.timestamp);
      if (typeof c.message === 'string') expect(body.message, c.name).toBe(c.message);
      else expect(body.message, c.name).toMatch(c.message);
    }
    expect(await usersWithEmail(email)).toBe(0);
    expect((await register(good)).statusCode).toBe(200);
  });

  describe('without a username (seed 000 sends none)', () => {
    /** A domain of its own per call, so the local parts below are this test's alone. */
    let domains = 0;
    const at = (local: string) => `${local}@d${++domains}-${Date.now().toString(36)}.example.com`;
    const usernameOf = async (email: string) => (await registerWithout(email)).json().user.username as string;

    async function registerWithout(email: string, path = '/api/auth/register') {
      const { code } = await codeFor(email);
      const res = await call(t.app, 'POST', path, { body: { email, password: STRONG_PASSWORD, code }, ip: freshIp() });
      expect(res.statusCode, `${path} ${email}: ${res.body}`).toBe(200);
      return res;
    }

    it("registers on /api/auth/register with the email's local part as the username, and signs in", async () => {
      const email = at('zoe');
      const res = await registerWithout(email);
      expect(res.json().user).toMatchObject({ email, username: 'zoe', role: 'user' });
      const profile = await call(t.app, 'GET', '/api/user/profile', { token: res.json().access_token });
      expect(profile.json()).toMatchObject({ email, username: 'zoe' });
      expect(
        (await call(t.app, 'POST', '/api/auth/login', { body: { email, password: STRONG_PASSWORD }, ip: freshIp() }))
          .statusCode,
      ).toBe(200);
    });

    it("registers on seed 002's /api/v1/auth/register the same way", async () => {
      const email = at('yann');
      const res = await registerWithout(email, '/api/v1/auth/register');
      expect(res.json()).toMatchObject({ token_type: 'bearer', user: { email, username: 'yann' } });
      const me = await call(t.app, 'GET', '/api/v1/auth/me', { token: res.json().access_token });
      expect(me.json()).toMatchObject({ email, username: 'yann' });
    });

    it('gives a name already in use a numeric suffix, whether it was made up or chosen', async () => {
      expect(await usernameOf(at('bob'))).toBe('bob');
      expect(await usernameOf(at('bob'))).toBe('bob_2');
      expect(await usernameOf(at('Bob+newsletter'))).toBe('bob_3');
      const { email, code } = await codeFor(at('somebody'));
      expect((await register({ email, password: STRONG_PASSWORD, username: 'carol', code })).json().user.username).toBe(
        'carol',
      );
      expect(await usernameOf(at('carol'))).toBe('carol_2');
    });

    it('keeps only letters, digits, dots, dashes and underscores, within 64 characters', async () => {
      expect(await usernameOf(at("__o'Brien!{x}__"))).toBe('obrienx');
      expect(await usernameOf(at('first.last-name_1'))).toBe('first.last-name_1');
      expect(await usernameOf(at("!#$%&'*"))).toBe('user');
      const long = 'a'.repeat(64);
      expect(await usernameOf(at(long))).toBe(long);
      expect(await usernameOf(at(long))).toBe(`${'a'.repeat(62)}_2`);
    });

    it('gives 10 sign-ups racing for one name 10 different names, each an account', async () => {
      const emails = Array.from({ length: 10 }, () => at('racy'));
      const codes = await Promise.all(emails.map((email) => codeFor(email)));
      const results = await Promise.all(
        codes.map(({ email, code }) => register({ email, password: STRONG_PASSWORD, code })),
      );
      expect(results.map((r) => r.statusCode)).toEqual(Array<number>(10).fill(200));
      const names = results.map((r) => r.json().user.username as string);
      expect(new Set(names).size).toBe(10);
      for (const name of names) expect(name).toMatch(/^racy(_\d+)?$/);
      expect(names).toContain('racy');
      for (const email of emails) expect(await usersWithEmail(email)).toBe(1);
    });

    it('a taken email is still 409, and a chosen username may repeat as before', async () => {
      const email = at('dup');
      await registerWithout(email);
      const again = await register({ email, password: STRONG_PASSWORD, code: '123456' });
      expect(again.statusCode).toBe(409);
      expect(again.json().message).toBe('该邮箱已注册，请直接登录或使用密码重置功能');
      for (const other of [at('one'), at('two')]) {
        const { code } = await codeFor(other);
        expect(
          (await register({ email: other, password: STRONG_PASSWORD, username: 'Same Name', code })).json().user
            .username,
        ).toBe('Same Name');
      }
    });
  });

  it('treats emails case-insensitively', async () => {
    const base = freshEmail('mixed');
    const mixed = base.replace(/^m/, 'M').replace('example.com', 'Example.COM');
    expect(
      (await call(t.app, 'POST', '/api/auth/send-code', { body: { email: mixed }, ip: freshIp() })).statusCode,
    ).toBe(200);
    const code = t.lastCode(base);

    const res = await register({ email: base.toUpperCase(), password: STRONG_PASSWORD, username: 'Mixed', code });
    expect(res.statusCode).toBe(200);
    expect(res.json().user.email).toBe(base);
    expect(await usersWithEmail(base)).toBe(1);

    expect(
      (await call(t.app, 'POST', '/api/auth/send-code', { body: { email: base.toUpperCase() }, ip: freshIp() }))
        .statusCode,
    ).toBe(409);
    const login = await call(t.app, 'POST', '/api/auth/login', {
      body: { email: mixed, password: STRONG_PASSWORD },
      ip: freshIp(),
    });
    expect(login.statusCode).toBe(200);
    expect(login.json().user.id).toBe(res.json().user.id);
  });

  it('refuses to register an email that already has an account with 409, in any letter case', async () => {
    const user = await registerUser(t);
    for (const email of [user.email, user.email.toUpperCase()]) {
      const res = await register({ email, password: STRONG_PASSWORD, username: 'again', code: '123456' });
      expect(res.statusCode).toBe(409);
      expect(res.json()).toMatchObject({
        success: false,
        statusCode: 409,
        error: 'Conflict',
        message: '该邮箱已注册，请直接登录或使用密码重置功能',
      });
    }
    expect(await usersWithEmail(user.email)).toBe(1);
    // The original password is untouched.
    expect(
      (
        await call(t.app, 'POST', '/api/auth/login', {
          body: { email: user.email, password: user.password },
          ip: freshIp(),
        })
      ).statusCode,
    ).toBe(200);
  });

  it('speaks English when asked', async () => {
    const { email, code } = await codeFor();
    const wrong = await register(
      { email, password: STRONG_PASSWORD, username: 'en', code: code === '000000' ? '111111' : '000000' },
      'en',
    );
    expect(wrong.json().message).toBe('The verification code is invalid or has expired');
    const weak = await register({ email, password: 'weak', username: 'en', code }, 'en');
    expect(weak.json().message).toBe(
      'The password must be 8-50 characters and contain an upper-case letter, a lower-case letter and a digit',
    );
  });

  it('creates exactly one account when 20 registrations race with one code', async () => {
    const { email, code } = await codeFor();
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => register({ email, password: STRONG_PASSWORD, username: `racer${i}`, code })),
    );
    const statuses = results.map((r) => r.statusCode);
    expect(statuses.filter((s) => s === 200)).toHaveLength(1);
    for (const r of results.filter((x) => x.statusCode !== 200)) {
      expect([400, 409]).toContain(r.statusCode);
      expect([CODE_INVALID, '该邮箱已注册，请直接登录或使用密码重置功能']).toContain(r.json().message);
    }
    expect(await usersWithEmail(email)).toBe(1);
    const winner = results.find((r) => r.statusCode === 200)!.json();
    const sessions = await t.app.services.database.db
      .selectFrom('sessions')
      .select('id')
      .where('user_id', '=', winner.user.id)
      .execute();
    expect(sessions).toHaveLength(1);
  });
});

import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '#core/config.ts';
import { createMailer, MailError, type MailMessage } from '#core/mailer.ts';
import { FakeResend, RESEND_FAILURES } from '#test/fakes/resend.ts';
import { closedPort, SilentServer } from '#test/fakes/silent.ts';
import { FakeSmtpServer } from '#test/fakes/smtp.ts';
import {
  backends,
  call,
  createTestApp,
  freshEmail,
  freshIp,
  STRONG_PASSWORD,
  TEST_SECRETS,
  type TestApp,
} from '#test/helpers/test-app.ts';

const MAIL_FAILED_ZH = '邮件发送失败，请稍后重试';
const MAIL_FAILED_EN = 'The email could not be sent; please try again later';

function codeIn(text: string): string {
  const code = /\b(\d{6})\b/.exec(text)?.[1];
  if (!code) throw new Error(`no 6-digit code in: ${text}`);
  return code;
}

async function userCount(t: TestApp): Promise<number> {
  const row = await t.app.services.database.db
    .selectFrom('users')
    .select((eb) => eb.fn.countAll().as('n'))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** Registration with `code` is refused as an invalid code: the code is not live. */
async function expectCodeDead(t: TestApp, email: string, code: string, ip: string): Promise<void> {
  const res = await call(t.app, 'POST', '/api/auth/register', {
    body: { email, password: STRONG_PASSWORD, username: 'x', code },
    ip,
  });
  expect(res.statusCode).toBe(400);
  expect(res.json().message).toBe('验证码无效或已过期');
}

async function expectRegisters(t: TestApp, email: string, code: string, ip: string): Promise<void> {
  const res = await call(t.app, 'POST', '/api/auth/register', {
    body: { email, password: STRONG_PASSWORD, username: 'mailed', code },
    ip,
  });
  expect(res.statusCode).toBe(200);
  expect(res.json().user.email).toBe(email);
}

async function expectMailFailure(t: TestApp, email: string, ip: string, lang?: string): Promise<void> {
  const res = await call(t.app, 'POST', '/api/auth/send-code', { body: { email }, ip, ...(lang ? { lang } : {}) });
  expect(res.statusCode).toBe(503);
  expect(res.json()).toMatchObject({
    success: false,
    statusCode: 503,
    error: 'Service Unavailable',
    message: lang === 'en' ? MAIL_FAILED_EN : MAIL_FAILED_ZH,
    path: '/api/auth/send-code',
  });
}

describe.each(backends())('mail on $label', (backend) => {
  describe('log transport (the default)', () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await createTestApp(backend);
    });
    afterAll(() => t.close());

    it('appends the email as one JSON line to DATA_DIR/outbox.jsonl', async () => {
      const email = freshEmail('outbox');
      const res = await call(t.app, 'POST', '/api/auth/send-code', { body: { email }, ip: freshIp() });
      expect(res.statusCode).toBe(200);
      const lines = readFileSync(join(t.dataDir, 'outbox.jsonl'), 'utf8').trimEnd().split('\n');
      const line = JSON.parse(lines.at(-1)!);
      expect(line).toMatchObject({
        from: 'Tollgate <noreply@tollgate.local>',
        to: email,
        subject: 'Tollgate 注册验证码',
      });
      expect(new Date(line.at).toISOString()).toBe(line.at);
      const code = codeIn(line.text);
      expect(line.html).toContain(code);

      await call(t.app, 'POST', '/api/auth/send-code', {
        body: { email: freshEmail('outbox') },
        ip: freshIp(),
        lang: 'en',
      });
      const after = readFileSync(join(t.dataDir, 'outbox.jsonl'), 'utf8').trimEnd().split('\n');
      expect(after).toHaveLength(lines.length + 1);
      expect(JSON.parse(after.at(-1)!).subject).toBe('Your Tollgate sign-up code');
    });

    it('an outbox that cannot be written is a 503 and leaves no live code', async () => {
      const email = freshEmail('outbox-broken');
      const ip = freshIp();
      const outbox = join(t.dataDir, 'outbox.jsonl');
      const saved = readFileSync(outbox, 'utf8');
      rmSync(outbox);
      mkdirSync(outbox); // appending to a directory fails
      try {
        await expectMailFailure(t, email, ip);
      } finally {
        rmSync(outbox, { recursive: true });
      }
      const res = await call(t.app, 'POST', '/api/auth/send-code', { body: { email }, ip });
      expect(res.statusCode).toBe(200);
      expect(saved.length).toBeGreaterThan(0);
    });
  });

  describe('SMTP (nodemailer against a real SMTP server)', () => {
    let smtp: FakeSmtpServer;
    let t: TestApp;
    beforeAll(async () => {
      smtp = await FakeSmtpServer.start();
      t = await createTestApp(backend, {
        env: { MAIL_TRANSPORT: 'smtp', SMTP_URL: smtp.url(), FROM_EMAIL: 'Tollgate <noreply@example.com>' },
      });
    });
    afterAll(async () => {
      await t.close();
      await smtp.close();
    });

    it('delivers the registration code in Chinese by default, and it registers', async () => {
      smtp.mode = 'accept';
      const email = freshEmail('smtp');
      const ip = freshIp();
      const res = await call(t.app, 'POST', '/api/auth/send-code', { body: { email }, ip });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toEqual({ message: '验证码已发送到您的邮箱' });

      const mail = smtp.lastTo(email)!;
      expect(mail.envelopeTo).toEqual([email]);
      expect(mail.envelopeFrom).toBe('noreply@example.com');
      expect(mail.user).toBe(smtp.username);
      expect(mail.headers.get('to')).toBe(email);
      expect(mail.subject).toBe('Tollgate 注册验证码');
      expect(mail.text).toMatch(/验证码为：\d{6}/);
      const code = codeIn(mail.text);
      expect(mail.html).toContain(code);
      expect(t.outbox()).toEqual([]);
      await expectRegisters(t, email, code, ip);
    });

    it('writes in English when the request asks with Accept-Language: en', async () => {
      smtp.mode = 'accept';
      const email = freshEmail('smtp-en');
      const res = await call(t.app, 'POST', '/api/auth/send-code', {
        body: { email },
        ip: freshIp(),
        lang: 'en-US,en;q=0.9',
      });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toEqual({ message: 'The verification code has been sent to your email' });
      const mail = smtp.lastTo(email)!;
      expect(mail.subject).toBe('Your Tollgate sign-up code');
      expect(mail.text).toMatch(/^Use this code to create an account: \d{6}/);
    });

    it.each([
      ['at RCPT TO (550)', 'reject-rcpt' as const],
      ['after reading the message (451)', 'reject-data' as const],
    ])('a server that refuses %s → 503, no live code, no cooldown, no account', async (_label, mode) => {
      const email = freshEmail('smtp-refused');
      const ip = freshIp();
      const users = await userCount(t);
      const seen = smtp.seen.length;
      smtp.mode = mode;
      await expectMailFailure(t, email, ip);
      await expectMailFailure(t, email, ip, 'en');
      const refused = smtp.seen.slice(seen).filter((m) => m.envelopeTo.includes(email));
      expect(refused.length).toBe(mode === 'reject-data' ? 2 : 0);
      for (const mail of refused) await expectCodeDead(t, email, codeIn(mail.text), ip);

      smtp.mode = 'accept';
      const retry = await call(t.app, 'POST', '/api/auth/send-code', { body: { email }, ip });
      expect(retry.statusCode).toBe(200);
      expect(await userCount(t)).toBe(users);
      await expectRegisters(t, email, codeIn(smtp.lastTo(email)!.text), ip);
    });
  });

  describe('a failed send spends no daily quota', () => {
    let smtp: FakeSmtpServer;
    let t: TestApp;
    beforeAll(async () => {
      smtp = await FakeSmtpServer.start();
      t = await createTestApp(backend, {
        env: {
          MAIL_TRANSPORT: 'smtp',
          SMTP_URL: smtp.url(),
          EMAIL_DAILY_CAP_PER_EMAIL: '1',
          EMAIL_DAILY_CAP_PER_IP: '1',
        },
      });
    });
    afterAll(async () => {
      await t.close();
      await smtp.close();
    });

    it('with a cap of one email a day, a refused send still leaves that one email', async () => {
      const email = freshEmail('cap-refund');
      const ip = freshIp();
      smtp.mode = 'reject-rcpt';
      await expectMailFailure(t, email, ip);
      smtp.mode = 'accept';
      const sent = await call(t.app, 'POST', '/api/auth/send-code', { body: { email }, ip });
      expect(sent.statusCode).toBe(200);
      await expectRegisters(t, email, codeIn(smtp.lastTo(email)!.text), ip);
    });
  });

  describe('SMTP server down', () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await createTestApp(backend, {
        env: { MAIL_TRANSPORT: 'smtp', SMTP_URL: `smtp://u:p@127.0.0.1:${await closedPort()}` },
      });
    });
    afterAll(() => t.close());

    it('→ 503 every time (never a cooldown), and no account is made', async () => {
      const email = freshEmail('smtp-down');
      const ip = freshIp();
      const users = await userCount(t);
      await expectMailFailure(t, email, ip);
      await expectMailFailure(t, email, ip);
      await expectMailFailure(t, email, ip, 'en');
      expect(await userCount(t)).toBe(users);
    });
  });

  describe('Resend (HTTP API)', () => {
    let resend: FakeResend;
    let t: TestApp;
    beforeAll(async () => {
      resend = await FakeResend.start();
      t = await createTestApp(backend, {
        env: {
          MAIL_TRANSPORT: 'resend',
          RESEND_API_KEY: resend.apiKey,
          RESEND_BASE_URL: resend.baseUrl,
          FROM_EMAIL: 'Tollgate <noreply@example.com>',
        },
      });
    });
    afterAll(async () => {
      await t.close();
      await resend.close();
    });

    it('sends from/to/subject/html/text and the code registers', async () => {
      resend.recover();
      const email = freshEmail('resend');
      const ip = freshIp();
      const res = await call(t.app, 'POST', '/api/auth/send-code', { body: { email }, ip });
      expect(res.statusCode).toBe(200);
      const sent = resend.lastTo(email)!;
      expect(sent).toMatchObject({ from: 'Tollgate <noreply@example.com>', to: email, subject: 'Tollgate 注册验证码' });
      const code = codeIn(sent.text!);
      expect(sent.html).toContain(code);
      await expectRegisters(t, email, code, ip);
    });

    it.each([
      ['422 invalid_from_address', RESEND_FAILURES.invalidFrom],
      ['500 internal_server_error', RESEND_FAILURES.internal],
      ['429 rate_limit_exceeded with retry-after', RESEND_FAILURES.rateLimited],
      ['429 daily_quota_exceeded', RESEND_FAILURES.dailyQuota],
    ])('%s → 503, the code it was handed is void, and a new send works at once', async (_label, failure) => {
      const email = freshEmail('resend-fail');
      const ip = freshIp();
      const users = await userCount(t);
      resend.fail(failure);
      await expectMailFailure(t, email, ip);
      const handed = resend.seen.filter((e) => e.to === email);
      expect(handed).toHaveLength(1);
      await expectCodeDead(t, email, codeIn(handed[0]!.text!), ip);
      expect(await userCount(t)).toBe(users);

      resend.recover();
      const retry = await call(t.app, 'POST', '/api/auth/send-code', { body: { email }, ip });
      expect(retry.statusCode).toBe(200);
      await expectRegisters(t, email, codeIn(resend.lastTo(email)!.text!), ip);
    });
  });
});

/** The transports on their own (no database): failures a misconfigured or hung peer causes. */
describe('mail transports', () => {
  const logger = pino({ level: 'silent' });
  const message: MailMessage = {
    to: 'someone@example.com',
    subject: 'Hello 你好',
    text: 'Code 123456',
    html: '<p>Code <b>123456</b></p>',
  };
  let dataDir: string;
  beforeAll(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'tollgate-mail-'));
  });
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));
  const config = (env: Record<string, string>) => loadConfig({ DATA_DIR: dataDir, ...TEST_SECRETS, ...env });

  async function sendFails(env: Record<string, string>): Promise<MailError> {
    const mailer = createMailer(config(env), logger);
    try {
      await mailer.send(message);
    } catch (error) {
      expect(error).toBeInstanceOf(MailError);
      return error as MailError;
    } finally {
      await mailer.close();
    }
    throw new Error('the send succeeded');
  }

  describe('the log transport', () => {
    /** A logger whose lines are kept, at info level as a server runs. */
    function capturingLogger() {
      const lines: string[] = [];
      return { lines, logger: pino({ level: 'info' }, { write: (line: string) => void lines.push(line) }) };
    }

    it('in production writes the code to the outbox only: the log line names the mail, never its text', async () => {
      const { lines, logger: captured } = capturingLogger();
      const mailer = createMailer(config({ NODE_ENV: 'production', MAIL_TRANSPORT: 'log' }), captured);
      await mailer.send(message);
      expect(readFileSync(join(dataDir, 'outbox.jsonl'), 'utf8')).toContain('123456');
      const logged = lines.join('');
      expect(logged).toContain('mail written to outbox');
      expect(logged).toContain(message.to);
      expect(logged).not.toContain('123456');
    });

    it('outside production the log line carries the text, for a developer without mail', async () => {
      const { lines, logger: captured } = capturingLogger();
      await createMailer(config({}), captured).send(message);
      expect(lines.join('')).toContain('Code 123456');
    });

    it('creates a missing data folder readable by its owner only, and the outbox too', async () => {
      const fresh = join(dataDir, 'fresh', 'data');
      await createMailer(loadConfig({ DATA_DIR: fresh, ...TEST_SECRETS }), logger).send(message);
      expect(statSync(fresh).mode & 0o777).toBe(0o700);
      expect(statSync(join(fresh, 'outbox.jsonl')).mode & 0o777).toBe(0o600);
    });
  });

  it('SMTP with a wrong password is refused (535)', async () => {
    const smtp = await FakeSmtpServer.start();
    try {
      const error = await sendFails({ MAIL_TRANSPORT: 'smtp', SMTP_URL: smtp.url('wrong') });
      expect(error.message).toContain('535');
      expect(smtp.received).toEqual([]);
    } finally {
      await smtp.close();
    }
  });

  it('SMTP through nodemailer keeps non-ASCII subjects and bodies intact', async () => {
    const smtp = await FakeSmtpServer.start();
    const mailer = createMailer(config({ MAIL_TRANSPORT: 'smtp', SMTP_URL: smtp.url() }), logger);
    try {
      await mailer.send({ ...message, subject: '验证码 '.repeat(12).trim(), text: '中文正文 123456 '.repeat(20) });
      expect(smtp.received[0]!.subject).toBe('验证码 '.repeat(12).trim());
      expect(smtp.received[0]!.text.trim()).toBe('中文正文 123456 '.repeat(20).trim());
    } finally {
      await mailer.close();
      await smtp.close();
    }
  });

  it('an SMTP server that never greets fails after MAIL_TIMEOUT instead of hanging the request', async () => {
    const silent = await SilentServer.start();
    try {
      await sendFails({ MAIL_TRANSPORT: 'smtp', SMTP_URL: `smtp://u:p@127.0.0.1:${silent.port}`, MAIL_TIMEOUT: '1' });
    } finally {
      await silent.close();
    }
  });

  it('Resend with a wrong API key is refused (403 invalid_api_key)', async () => {
    const resend = await FakeResend.start();
    try {
      const error = await sendFails({
        MAIL_TRANSPORT: 'resend',
        RESEND_API_KEY: 're_wrong',
        RESEND_BASE_URL: resend.baseUrl,
      });
      expect(error.message).toContain('403');
      expect(error.message).toContain('invalid_api_key');
      expect(resend.seen).toEqual([]);
    } finally {
      await resend.close();
    }
  });

  it('Resend behind a base URL with a path (a relay) is reached at <base>/emails', async () => {
    const resend = await FakeResend.start({ basePath: '/relay/resend' });
    const mailer = createMailer(
      config({ MAIL_TRANSPORT: 'resend', RESEND_API_KEY: resend.apiKey, RESEND_BASE_URL: `${resend.baseUrl}/` }),
      logger,
    );
    try {
      await mailer.send(message);
      expect(resend.emails).toMatchObject([
        { to: message.to, subject: message.subject, text: message.text, html: message.html },
      ]);
    } finally {
      await mailer.close();
      await resend.close();
    }
  });

  it("seed 004's mail settings: RESEND_API_KEY alone sends through Resend, from EMAIL_FROM with EMAIL_REPLY_TO", async () => {
    const resend = await FakeResend.start();
    const seed004 = {
      RESEND_API_KEY: resend.apiKey,
      EMAIL_FROM: 'CodexAPI <noreply@codexapi.com>',
      EMAIL_REPLY_TO: 'support@codexapi.com',
    };
    const mailer = createMailer(config({ ...seed004, RESEND_BASE_URL: resend.baseUrl }), logger);
    try {
      expect(mailer.transport).toBe('resend');
      await mailer.send(message);
      expect(resend.emails).toMatchObject([
        { from: 'CodexAPI <noreply@codexapi.com>', reply_to: 'support@codexapi.com', to: message.to },
      ]);
    } finally {
      await mailer.close();
      await resend.close();
    }
  });

  it('REPLY_TO_EMAIL is the Reply-To of an SMTP mail', async () => {
    const smtp = await FakeSmtpServer.start();
    const mailer = createMailer(
      config({ MAIL_TRANSPORT: 'smtp', SMTP_URL: smtp.url(), REPLY_TO_EMAIL: 'Support <support@example.com>' }),
      logger,
    );
    try {
      await mailer.send(message);
      expect(smtp.received[0]!.headers.get('reply-to')).toBe('Support <support@example.com>');
    } finally {
      await mailer.close();
      await smtp.close();
    }
  });

  it('a Resend that is down, or accepts and never answers, fails instead of hanging', async () => {
    await sendFails({
      MAIL_TRANSPORT: 'resend',
      RESEND_API_KEY: 're_x',
      RESEND_BASE_URL: `http://127.0.0.1:${await closedPort()}`,
    });
    const silent = await SilentServer.start();
    try {
      await sendFails({
        MAIL_TRANSPORT: 'resend',
        RESEND_API_KEY: 're_x',
        RESEND_BASE_URL: `http://127.0.0.1:${silent.port}`,
        MAIL_TIMEOUT: '1',
      });
    } finally {
      await silent.close();
    }
  });
});

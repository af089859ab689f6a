import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { FakeOpenAI } from '#test/fakes/openai.ts';
import { FakeWeChatPay } from '#test/fakes/wechat-pay.ts';
import { freePort } from '#test/helpers/processes.ts';
import { TollgateProcess } from '#test/reliability/support/tollgate-process.ts';

export const ADMIN_KEY = 'console-test-admin-key-0123456789abcdef0123456789';
export const UPSTREAM_KEY = 'sk-fake-upstream-console';
export const SCREENSHOTS = join(import.meta.dirname, '..', '..', '..', 'test-results', 'console');

/**
 * Debian's Chromium (CHROMIUM_PATH, else `chromium` on the PATH). Missing, the browser tests fail
 * with this message: they are part of `npm test` and are never skipped.
 */
export function chromiumPath(): string {
  const configured = process.env.CHROMIUM_PATH;
  if (configured) {
    if (!existsSync(configured)) throw new Error(`CHROMIUM_PATH=${configured} does not exist`);
    return configured;
  }
  try {
    return execFileSync('sh', ['-c', 'command -v chromium || command -v chromium-browser'], {
      encoding: 'utf8',
    }).trim();
  } catch {
    throw new Error(
      'The console tests need Chromium: install it (Debian: apt-get install -y chromium fonts-noto-cjk) or set CHROMIUM_PATH',
    );
  }
}

/** One Tollgate process (`npm start`'s command) on a temporary SQLite, with fake OpenAI and WeChat Pay, and Chromium. */
export class ConsoleEnv {
  private constructor(
    readonly tollgate: TollgateProcess,
    readonly openai: FakeOpenAI,
    readonly wechatPay: FakeWeChatPay,
    readonly browser: Browser,
    readonly dataDir: string,
  ) {}

  /** `env` adds or overrides the process's settings (another fake's URL and key, say). */
  static async start(options: { env?: Record<string, string> } = {}): Promise<ConsoleEnv> {
    const executablePath = chromiumPath();
    // The console under test is the one in this checkout: built now when web/ changed since the last build.
    execFileSync(process.execPath, ['--import', 'tsx', 'web/scripts/build.ts', '--if-stale'], { stdio: 'inherit' });
    const dataDir = mkdtempSync(join(tmpdir(), 'tollgate-console-'));
    const openai = await FakeOpenAI.start({ apiKeys: [UPSTREAM_KEY], record: false });
    const wechatPay = await FakeWeChatPay.start();
    const port = await freePort();
    const tollgate = new TollgateProcess(port, {
      NODE_ENV: 'test',
      LOG_LEVEL: 'warn',
      DATA_DIR: dataDir,
      DATABASE_URL: `sqlite:${join(dataDir, 'tollgate.db')}`,
      JWT_SECRET: 'console-test-jwt-secret-0123456789abcdef0123456789',
      ADMIN_API_KEY: ADMIN_KEY,
      MAIL_TRANSPORT: 'log',
      OPENAI_BASE_URL: openai.url,
      OPENAI_API_KEY: UPSTREAM_KEY,
      SIGNUP_BONUS_PER_IP_DAILY: '100',
      // All the browser's requests come from 127.0.0.1: the lock test (run last) uses 3 for both.
      LOGIN_CAPTCHA_AFTER: '3',
      LOGIN_LOCK_AFTER: '3',
      ...wechatPay.env(`http://127.0.0.1:${port}/api/payments/wechat/notify`),
      ...options.env,
    });
    await tollgate.start();
    const browser = await chromium.launch({
      executablePath,
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-dev-shm-usage',
      ],
    });
    return new ConsoleEnv(tollgate, openai, wechatPay, browser, dataDir);
  }

  get url(): string {
    return this.tollgate.url;
  }

  /** The admin API, with the admin key: tests set the stage through it. */
  async admin<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await fetch(`${this.url}${path}`, {
      method,
      headers: { 'x-admin-key': ADMIN_KEY, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
    return JSON.parse(text) as T;
  }

  /** The 6-digit code of the latest email to `email` (the log mail transport's outbox). */
  lastCode(email: string): string {
    const lines = readFileSync(join(this.dataDir, 'outbox.jsonl'), 'utf8').trim().split('\n');
    const messages = lines.map((line) => JSON.parse(line) as { to: string; text: string });
    const code = messages
      .filter((m) => m.to === email.toLowerCase())
      .at(-1)
      ?.text.match(/\b(\d{6})\b/)?.[1];
    if (!code) throw new Error(`no code was mailed to ${email}`);
    return code;
  }

  async close(): Promise<void> {
    await this.browser.close().catch(() => undefined);
    await this.tollgate.stop();
    await Promise.all([this.openai.close(), this.wechatPay.close()]);
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}

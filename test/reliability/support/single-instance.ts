import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeImageJobs } from '#test/fakes/image-jobs.ts';
import { FakeOpenAI } from '#test/fakes/openai.ts';
import type { Tally } from '#test/reliability/tally.ts';
import { ADMIN } from './cluster.ts';
import { Http } from './http.ts';
import { SECRETS_OF_THE_RUN, type SecretBook } from './secrets.ts';
import { freePort, TollgateProcess } from './tollgate-process.ts';

/**
 * One Tollgate process on SQLite as `npm start` runs it, logging at trace level, with the fake OpenAI as
 * its first channel and the fake image-job API: for what must be checked on the real process (its log
 * output), not in-process.
 */
export class SingleInstance {
  readonly http: Http;
  readonly secrets: SecretBook = SECRETS_OF_THE_RUN.book();
  adminToken = '';

  private constructor(
    readonly tally: Tally,
    readonly process: TollgateProcess,
    readonly fake: FakeOpenAI,
    readonly jobs: FakeImageJobs,
    private readonly dataDir: string,
  ) {
    this.http = new Http(tally);
  }

  static async start(tally: Tally): Promise<SingleInstance> {
    const dataDir = mkdtempSync(join(tmpdir(), 'tollgate-single-'));
    const fake = await FakeOpenAI.start();
    const jobs = await FakeImageJobs.start();
    const instance = new TollgateProcess(await freePort(), {
      NODE_ENV: 'production',
      MAIL_TRANSPORT: 'log', // sign-up codes are read from the outbox
      LOG_LEVEL: 'trace',
      DATA_DIR: dataDir,
      DATABASE_URL: `sqlite:${join(dataDir, 'tollgate.db')}`,
      JWT_SECRET: SECRETS_OF_THE_RUN.jwtSecret,
      MASTER_KEY: SECRETS_OF_THE_RUN.masterKey,
      ADMIN_EMAIL: ADMIN.email,
      ADMIN_PASSWORD: ADMIN.password,
      OPENAI_BASE_URL: fake.url,
      OPENAI_API_KEY: SECRETS_OF_THE_RUN.channelSecret,
      ...jobs.env,
      // The tour refreshes a rotated token again on the real clock: a grace window no slow machine outlasts.
      REFRESH_TOKEN_GRACE: '60',
    });
    const single = new SingleInstance(tally, instance, fake, jobs, dataDir);
    single.secrets.add('admin password', ADMIN.password);
    single.secrets.add('image job API key (THIRD_PARTY_API_KEY)', jobs.apiKey);
    await instance.start();
    tally.instance();
    const login = await single.http.expectJson<{ access_token: string; refresh_token: string }>(
      instance.url,
      'POST',
      '/api/auth/login',
      200,
      { body: ADMIN },
    );
    single.adminToken = login.access_token;
    single.secrets.add('admin access token', login.access_token);
    single.secrets.add('admin refresh token', login.refresh_token);
    return single;
  }

  get url(): string {
    return this.process.url;
  }

  lastCode(email: string): string {
    const file = join(this.dataDir, 'outbox.jsonl');
    const lines = existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : [];
    const mail = lines
      .map((line) => JSON.parse(line) as { to: string; text: string })
      .filter((m) => m.to === email.toLowerCase())
      .at(-1);
    const code = mail?.text.match(/\b(\d{6})\b/)?.[1];
    if (!code) throw new Error(`no code was mailed to ${email}`);
    return code;
  }

  async close(): Promise<void> {
    await this.process.stop('SIGTERM');
    await this.fake.close();
    await this.jobs.close();
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}

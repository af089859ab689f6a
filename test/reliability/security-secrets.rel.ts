import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Answer, SendOptions } from './support/http.ts';
import { MODEL } from './support/pricing.ts';
import { SECRETS_OF_THE_RUN } from './support/secrets.ts';
import { SingleInstance } from './support/single-instance.ts';
import { Tally } from './tally.ts';

/** Steps of the tour that fail on purpose (the upstream fails, or a known defect answers 500). */
const FAILING_ON_PURPOSE = new Set([
  'an upstream failure',
  'an upstream 401 (its key refused)',
  'a call that fails inside Tollgate',
]);

interface Seen {
  what: string;
  answer: Answer;
  /** Secrets this answer exists to hand over (a new session's tokens, a new key, the admin's codes). */
  issues: string[];
}

/**
 * Secrets never leave where they belong: every answer of a tour through the whole API (sign-up, wrong
 * and right sign-ins, refresh, keys, metered calls streamed and whole, a failing call, channels with
 * their upstream keys, redeem codes, a 500) is searched for every secret the tour handed over or got,
 * except an answer that exists to issue it; and so is everything the process logged, at trace level.
 */
describe('secrets in answers and logs (a real process, logging at trace)', () => {
  const tally = new Tally('security: secrets');
  let single: SingleInstance;
  const seen: Seen[] = [];

  beforeAll(async () => {
    single = await SingleInstance.start(tally);
  });
  afterAll(async () => {
    await single?.close();
    tally.save(inject('tallyDir'));
  });

  async function send(
    what: string,
    method: string,
    path: string,
    options: SendOptions = {},
    issues: string[] = [],
  ): Promise<Answer> {
    const answer = await single.http.send(single.url, method, path, options);
    seen.push({ what, answer, issues });
    return answer;
  }
  const json = <T>(answer: Answer): T => (answer.kind === 'answer' ? (JSON.parse(answer.text) as T) : ({} as T));

  it('a tour of the API hands out each secret only where it is issued', async () => {
    const mark = tally.mark;
    const { secrets } = single;
    const email = `secret-${randomBytes(3).toString('hex')}@example.com`;
    const password = `Tour-${randomBytes(9).toString('base64url')}1a`;
    const weak = `weakpassword${randomBytes(4).toString('hex')}`;
    const wrong = `Wr0ng-${randomBytes(9).toString('base64url')}`;
    secrets.add('the password', password);
    secrets.add('a weak password refused at sign-up', weak);
    secrets.add('a wrong password', wrong);

    await send('send-code', 'POST', '/api/auth/send-code', { body: { email } });
    await send('register with a weak password', 'POST', '/api/auth/register', {
      body: { email, password: weak, username: 'tour', code: single.lastCode(email) },
    });
    await send('send-code again', 'POST', '/api/auth/send-code', { body: { email } });
    const registered = json<{ access_token: string; refresh_token: string }>(
      await send('register', 'POST', '/api/auth/register', {
        body: { email, password, username: 'tour', code: single.lastCode(email) },
      }),
    );
    secrets.add('access token (register)', registered.access_token);
    secrets.add('refresh token (register)', registered.refresh_token);
    seen.at(-1)!.issues.push(registered.access_token, registered.refresh_token);
    await send('login with a wrong password', 'POST', '/api/auth/login', { body: { email, password: wrong } });
    await send('login (seed 002) with a wrong password', 'POST', '/api/v1/auth/login', {
      body: { email, password: wrong },
    });
    const login = json<{ access_token: string; refresh_token: string }>(
      await send('login', 'POST', '/api/auth/login', { body: { email, password } }),
    );
    secrets.add('access token (login)', login.access_token);
    secrets.add('refresh token (login)', login.refresh_token);
    seen.at(-1)!.issues.push(login.access_token, login.refresh_token);
    const refreshed = json<{ access_token: string; refresh_token: string }>(
      await send('refresh', 'POST', '/api/auth/refresh', { body: { refresh_token: login.refresh_token } }),
    );
    secrets.add('access token (refresh)', refreshed.access_token);
    secrets.add('refresh token (refresh)', refreshed.refresh_token);
    seen.at(-1)!.issues.push(refreshed.access_token, refreshed.refresh_token);
    // Within the grace window of parallel refreshes the rotated token is answered with the same successor.
    const again = json<{ access_token: string }>(
      await send(
        'the rotated refresh token again, within the grace window',
        'POST',
        '/api/auth/refresh',
        { body: { refresh_token: login.refresh_token } },
        [refreshed.refresh_token],
      ),
    );
    secrets.add('access token (refresh again)', again.access_token);
    seen.at(-1)!.issues.push(again.access_token);
    const token = registered.access_token;

    const created = json<{ key: string; apiKey: { id: string } }>(
      await send('create a key', 'POST', '/api/keys', { token, body: { name: 'tour' } }),
    );
    secrets.add('API key', created.key);
    seen.at(-1)!.issues.push(created.key);
    await send('list keys', 'GET', '/api/keys', { token });
    await send('change the key', 'PATCH', `/api/keys/${created.apiKey.id}`, { token, body: { name: 'renamed' } });
    const chat = { model: MODEL, messages: [{ role: 'user', content: 'hello' }], max_tokens: 10 };
    await send('a whole answer', 'POST', '/v1/chat/completions', { token: created.key, body: chat });
    await send('a stream', 'POST', '/v1/chat/completions', {
      token: created.key,
      body: { ...chat, stream: true, stream_options: { include_usage: true } },
    });
    await send('an upstream failure', 'POST', '/v1/chat/completions', {
      token: created.key,
      body: { ...chat, fake_behavior: 'status=500' },
    });
    await send('an upstream 401 (its key refused)', 'POST', '/v1/chat/completions', {
      token: created.key,
      body: { ...chat, fake_behavior: 'status=401' },
    });
    // A 500 (a known defect, see known-issues.ts): its error is logged with a stack; the key must not be.
    await send('a call that fails inside Tollgate', 'POST', '/v1/chat/completions', {
      token: created.key,
      body: { ...chat, messages: [null] },
    });
    const guessed = `sk-${randomBytes(24).toString('base64url')}`;
    secrets.add('a made-up API key', guessed);
    await send('a made-up key', 'POST', '/v1/chat/completions', { token: guessed, body: chat });
    await send('models', 'GET', '/v1/models', { token: created.key });

    const admin = single.adminToken;
    const channelSecret = `sk-second-channel-${randomBytes(12).toString('hex')}`;
    secrets.add("a channel's upstream key", channelSecret);
    const channel = json<{ id: string }>(
      await send('add a channel', 'POST', '/api/admin/channels', {
        token: admin,
        body: { name: 'second', baseUrl: single.fake.url, apiKey: channelSecret, models: ['gpt-4o'] },
      }),
    );
    await send('list channels', 'GET', '/api/admin/channels', { token: admin });
    const rotated = `sk-rotated-channel-${randomBytes(12).toString('hex')}`;
    secrets.add("a channel's new upstream key", rotated);
    await send('rotate a channel key', 'PATCH', `/api/admin/channels/${channel.id}`, {
      token: admin,
      body: { apiKey: rotated },
    });
    await send('test a channel', 'POST', `/api/admin/channels/${channel.id}/test`, { token: admin });
    const codes = json<{ codes: Array<{ code: string }> }>(
      await send('create redeem codes', 'POST', '/api/admin/redeem-codes', {
        token: admin,
        body: { count: 2, credits: 10 },
      }),
    );
    for (const c of codes.codes) secrets.add('redeem code', c.code);
    seen.at(-1)!.issues.push(...codes.codes.map((c) => c.code));
    const listed = await send('list redeem codes', 'GET', '/api/admin/redeem-codes', { token: admin });
    seen.at(-1)!.issues.push(...codes.codes.map((c) => c.code));
    tally.check(listed.kind === 'answer' && listed.status === 200, 'the admin could not list the codes');
    await send('redeem a code', 'POST', '/api/credits/redeem', { token, body: { code: codes.codes[0]!.code } });
    await send('redeem it again', 'POST', '/api/credits/redeem', { token, body: { code: codes.codes[0]!.code } });
    for (const path of [
      '/api/user/profile',
      '/api/user/stats',
      '/api/credits/balance',
      '/api/credits/history',
      '/api/usage/logs',
      '/api/usage/stats',
      '/api/checkin/status',
      '/api/v1/auth/me',
    ]) {
      await send(`read ${path}`, 'GET', path, { token });
    }
    const job = json<{ data?: { id: string } }>(
      await send('an image job', 'POST', '/v1/proxy/images/generate', { token, body: { prompt: 'a quiet garden' } }),
    );
    if (job.data) await send('the image job', 'GET', `/v1/proxy/jobs/${job.data.id}`, { token });
    await send('logout', 'POST', '/api/auth/logout', { token: refreshed.access_token });

    for (const { what, answer, issues } of seen) {
      const headers = answer.kind === 'answer' ? JSON.stringify([...answer.headers]) : '';
      const found = secrets.foundIn(answer.text + headers, issues);
      tally.check(found.length === 0, `${what} answered with ${found.join(', ')}`);
      tally.check(
        (answer.kind === 'answer' && answer.status < 500) || FAILING_ON_PURPOSE.has(what),
        `${what}: ${answer.kind === 'answer' ? answer.status : answer.message}`,
      );
    }
    // The upstream sees only the channels' own keys, never a user's key or session.
    const channelKeys = new Set([SECRETS_OF_THE_RUN.channelSecret, channelSecret, rotated].map((k) => `Bearer ${k}`));
    const strangers = [...new Set(single.fake.requests.map((r) => String(r.headers.authorization)))].filter(
      (k) => !channelKeys.has(k),
    );
    tally.check(
      strangers.length === 0,
      `the upstream saw credentials other than the channels': ${strangers.join(', ')}`,
    );
    // The job API sees its own key only (the fake counts any other as unauthorized).
    tally.check(
      single.jobs.submissions.length === 1 && single.jobs.unauthorized === 0,
      `the image job API saw ${single.jobs.submissions.length} jobs and ${single.jobs.unauthorized} other credentials`,
    );
    tally.note(`${seen.length} answers searched for ${secrets.size} secrets`);
    expect(tally.since(mark)).toEqual([]);
  });

  it('nothing the process logged contains a secret', () => {
    const mark = tally.mark;
    const logs = single.process.logs();
    const found = single.secrets.foundIn(logs);
    tally.check(found.length === 0, `secrets in the log: ${found.join(', ')}`);
    const lines = logs.split('\n').filter(Boolean).length;
    tally.check(lines > 50, `only ${lines} log lines: the scan would prove nothing`);
    // While the null-message defect lasts, the log holds a 500 with its stack: the scan saw an error path too.
    const failedInside = seen.find((s) => s.what === 'a call that fails inside Tollgate')?.answer;
    if (failedInside?.kind === 'answer' && failedInside.status === 500)
      tally.check(/request failed/.test(logs), 'a 500 was answered but not logged');
    tally.note(`${lines} log lines at trace level searched for ${single.secrets.size} secrets`);
    expect(tally.since(mark)).toEqual([]);
  });
});

import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { DEFAULT_GUESS_LIMITS } from '#modules/keys/key-guessing.ts';
import { registerUser } from '#test/helpers/test-app.ts';
import { startFuzzApp, type FuzzApp } from './fuzz/fuzz-app.ts';
import { Tally } from './tally.ts';

const guess = () => `sk-${randomBytes(24).toString('base64url')}`;
const codeGuess = () => `TG-${randomBytes(8).toString('hex').toUpperCase().match(/.{4}/g)!.join('-')}`;

/**
 * Guessing is rate-limited: API keys per client IP (the limit added with this suite, see
 * src/modules/keys/key-guessing.ts), redeem codes per user and per IP (REDEEM_MAX_FAILURES_*).
 * Parallel guesses cannot slip past a limit, another IP is not affected, and real keys (in use or not)
 * keep working on a locked address while its unknown keys stay refused.
 */
describe('API-key and redeem-code guessing', () => {
  const tally = new Tally('security: guessing');
  let f: FuzzApp;

  beforeAll(async () => {
    f = await startFuzzApp(tally);
  });
  afterAll(async () => {
    await f?.close();
    tally.save(inject('tallyDir'));
  });

  const models = (secret: string, ip: string) =>
    f.inject({ method: 'GET', url: '/v1/models', headers: { authorization: `Bearer ${secret}` }, remoteAddress: ip });

  it(`an IP that presents ${DEFAULT_GUESS_LIMITS.maxFailuresPerIp} unknown API keys has its unknown keys refused (429); real keys still work there`, async () => {
    const mark = tally.mark;
    const ip = '203.0.113.7';
    // The owner's key is in use (cached) before the address gets locked.
    tally.check((await models(f.userKey.secret, ip)).statusCode === 200, 'the real key did not work');
    const max = DEFAULT_GUESS_LIMITS.maxFailuresPerIp;
    const statuses: number[] = [];
    for (let i = 0; i < max + 5; i++) {
      tally.badInput();
      statuses.push((await models(guess(), ip)).statusCode);
    }
    tally.check(
      statuses.slice(0, max).every((s) => s === 401) && statuses.slice(max).every((s) => s === 429),
      `guess statuses: ${statuses.join(',')}`,
    );
    const locked = await models(guess(), ip);
    tally.check(
      locked.statusCode === 429 && Number(locked.headers['retry-after']) > 0,
      `a locked IP got ${locked.statusCode} without Retry-After`,
    );
    tally.check(/invalid API keys|无效 API 密钥/.test(locked.body), `the 429 does not say why: ${locked.body}`);
    tally.check((await models(guess(), '203.0.113.8')).statusCode === 401, 'another IP was locked too');
    tally.check(
      (await models(f.userKey.secret, ip)).statusCode === 200,
      'the key in use stopped working for its owner on the locked address',
    );
    // Only misses count: a real key never used before is not refused for what its address got wrong.
    tally.check(
      (await models(f.otherKey.secret, ip)).statusCode === 200,
      'a real key not yet in use was refused on the locked address',
    );
    tally.badInput();
    tally.check(
      (await models(guess(), ip)).statusCode === 429,
      'after a real key, the locked address could guess again',
    );
    tally.note(
      `API-key guessing: ${max} unknown keys per IP per ${DEFAULT_GUESS_LIMITS.windowMs / 60_000} min, then 429 (per instance: the counter is in process memory until services.ts passes the shared store)`,
    );
    expect(tally.since(mark)).toEqual([]);
  });

  it('parallel guesses from one IP cannot slip past the limit', async () => {
    const mark = tally.mark;
    const ip = '203.0.113.9';
    const max = DEFAULT_GUESS_LIMITS.maxFailuresPerIp;
    tally.badInput(max * 3);
    const statuses = (await Promise.all(Array.from({ length: max * 3 }, () => models(guess(), ip)))).map(
      (r) => r.statusCode,
    );
    const looked = statuses.filter((s) => s === 401).length;
    tally.check(
      looked <= max && statuses.every((s) => s === 401 || s === 429),
      `${looked} of ${statuses.length} parallel guesses were answered as unknown (limit ${max})`,
    );
    expect(tally.since(mark)).toEqual([]);
  });

  it('redeem-code guessing is limited per user and per IP', async () => {
    const mark = tally.mark;
    const perUser = f.t.config.REDEEM_MAX_FAILURES_PER_USER;
    const perIp = f.t.config.REDEEM_MAX_FAILURES_PER_IP;
    const redeem = (token: string, ip: string, code = codeGuess()) => {
      tally.badInput();
      return f.inject({
        method: 'POST',
        url: '/api/credits/redeem',
        headers: { authorization: `Bearer ${token}` },
        payload: { code },
        remoteAddress: ip,
      });
    };
    const guesser = await registerUser(f.t);
    const byUser: number[] = [];
    for (let i = 0; i < perUser + 2; i++)
      byUser.push((await redeem(guesser.accessToken, `198.51.100.${i + 1}`)).statusCode);
    tally.check(
      byUser.slice(0, perUser).every((s) => s === 400) && byUser.slice(perUser).every((s) => s === 429),
      `per-user guesses: ${byUser.join(',')}`,
    );
    // A real code does not get through a locked account either.
    const real = (
      await f.inject({
        method: 'POST',
        url: '/api/admin/redeem-codes',
        headers: { authorization: `Bearer ${f.admin}` },
        payload: { count: 1, credits: 5 },
      })
    ).json<{ codes: Array<{ code: string }> }>();
    tally.check(
      (await redeem(guesser.accessToken, '198.51.100.200', real.codes[0]!.code)).statusCode === 429,
      'a locked user could still redeem',
    );

    // Many accounts from one address: the IP's own limit.
    const ip = '198.51.100.250';
    const byIp: number[] = [];
    const accounts = await Promise.all(
      Array.from({ length: Math.ceil((perIp + 2) / (perUser - 1)) }, () => registerUser(f.t)),
    );
    for (let i = 0; byIp.length < perIp + 2; i++)
      byIp.push((await redeem(accounts[Math.floor(i / (perUser - 1))]!.accessToken, ip)).statusCode);
    tally.check(
      byIp.slice(0, perIp).every((s) => s === 400) && byIp.slice(perIp).every((s) => s === 429),
      `per-IP guesses: ${byIp.join(',')}`,
    );
    tally.note(`redeem guessing: ${perUser} failures per user, ${perIp} per IP, then 429 for REDEEM_FAILURE_WINDOW`);
    expect(tally.since(mark)).toEqual([]);
  });
});

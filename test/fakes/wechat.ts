import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A stand-in for api.weixin.qq.com on 127.0.0.1, speaking the three APIs of WeChat sign-in as
 * shared/reference/protocols.md §1 gives them:
 *
 * - `GET /sns/jscode2session?appid&secret&js_code&grant_type=authorization_code`: a code made by
 *   `login()` (what `wx.login()` gives the mini-program) is valid once: `{openid, session_key}` and
 *   `unionid` when the user has one; a second use is 40163 `code been used`, an unknown code 40029
 *   `invalid code`, a wrong appid 40013, a wrong secret 40125, a grant_type other than
 *   `authorization_code` 40002.
 * - `POST /cgi-bin/stable_token` `{grant_type: 'client_credential', appid, secret, force_refresh}`:
 *   the same access token while it is valid (`expires_in` seconds), a new one after
 *   `expireAccessToken()` or with `force_refresh: true`; `GET /cgi-bin/token` (the legacy API) issues a
 *   new one on every call. Wrong appid/secret: 40013/40125.
 * - `POST /wxa/business/getuserphonenumber?access_token=` `{code}`: a code made by `phoneCode()` is
 *   valid once: `{errcode: 0, errmsg: 'ok', phone_info: {phoneNumber, purePhoneNumber, countryCode,
 *   watermark: {timestamp, appid}}}`; an unknown or used code is 40029; an access token this fake never
 *   issued (or that was expired) is 40001 `invalid credential, access_token is invalid or not latest`.
 *
 * Like WeChat, every answer is HTTP 200 (errors too, with `errcode` and an `errmsg` that ends in
 * `, rid: …`), success bodies of jscode2session have no `errcode`, and the content type alternates
 * between `text/plain` and `application/json` (WeChat has answered with both), so a client must parse
 * the text whatever the header says.
 *
 * Failures on demand: `failNext(api, errcode, times)` answers the next calls of one API with an
 * error (-1 `system error` busy, 45011 `api minute-quota reach limit…` rate limit, or any code);
 * `delayMs` holds every answer back (slowness; a client's timeout can be tested); `unreachable()`
 * destroys every connection as it arrives until `recover()`.
 */
export type WeChatApi = 'jscode2session' | 'token' | 'phone';

export interface WeChatUser {
  openid: string;
  unionid?: string;
}

const ERRMSG: Record<number, string> = {
  [-1]: 'system error',
  40001: 'invalid credential, access_token is invalid or not latest',
  40002: 'invalid grant_type',
  40013: 'invalid appid',
  40029: 'invalid code',
  40125: 'invalid appsecret',
  40163: 'code been used',
  40226: 'code blocked',
  42001: 'access_token expired',
  45011: 'api minute-quota reach limit  mustslower  retry next minute',
};

export class FakeWeChat {
  readonly appid: string;
  readonly secret: string;
  /** Calls received per API, failed or not. */
  readonly calls: Record<WeChatApi, number> = { jscode2session: 0, token: 0, phone: 0 };
  /** Access tokens issued, in order. */
  readonly tokensIssued: string[] = [];
  /** Seconds an access token lives (WeChat: at most 7200). */
  expiresIn = 7200;
  /** Milliseconds every answer is held back. */
  delayMs = 0;
  private readonly codes = new Map<string, { user: WeChatUser; sessionKey: string; used: boolean }>();
  private readonly phoneCodes = new Map<string, { phone: string; used: boolean }>();
  private readonly failures: Record<WeChatApi, number[]> = { jscode2session: [], token: [], phone: [] };
  private validTokens = new Set<string>();
  private stableToken: string | undefined;
  private down = false;
  private answers = 0;

  private constructor(
    private readonly server: Server,
    readonly baseUrl: string,
    appid: string,
    secret: string,
  ) {
    this.appid = appid;
    this.secret = secret;
  }

  static async start(options: { appid?: string; secret?: string } = {}): Promise<FakeWeChat> {
    const appid = options.appid ?? `wx${randomBytes(8).toString('hex')}`;
    const secret = options.secret ?? randomBytes(16).toString('hex');
    const server = createServer((request, response) => {
      void fake.handle(request, response);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const fake = new FakeWeChat(server, `http://127.0.0.1:${port}`, appid, secret);
    return fake;
  }

  /** A new WeChat user (an openid like WeChat's: 28 characters starting with `o`), with a unionid if asked. */
  static newUser(withUnionid = false): WeChatUser {
    const id = (n: number) => randomBytes(n).toString('base64url').slice(0, 27);
    return { openid: `o${id(21)}`, ...(withUnionid ? { unionid: `o${id(21)}` } : {}) };
  }

  /** What `wx.login()` gives the mini-program of `user` (a new user by default): a code valid once. */
  login(user: WeChatUser = FakeWeChat.newUser()): string {
    const code = randomBytes(16).toString('hex');
    this.codes.set(code, { user, sessionKey: randomBytes(16).toString('base64'), used: false });
    return code;
  }

  /** The session_key the fake gave for `code` (to check it is never returned to clients). */
  sessionKeyOf(code: string): string | undefined {
    return this.codes.get(code)?.sessionKey;
  }

  /** What the getPhoneNumber button gives the mini-program: a code valid once for `phone`. */
  phoneCode(phone = '+8613800000000'): string {
    const code = randomBytes(32).toString('hex');
    this.phoneCodes.set(code, { phone, used: false });
    return code;
  }

  /** The next `times` calls of `api` answer `errcode`. */
  failNext(api: WeChatApi, errcode: number, times = 1): void {
    for (let i = 0; i < times; i++) this.failures[api].push(errcode);
  }

  /** Every access token issued so far stops working (as when the platform rotated it). */
  expireAccessToken(): void {
    this.validTokens = new Set();
    this.stableToken = undefined;
  }

  unreachable(): void {
    this.down = true;
  }

  recover(): void {
    this.down = false;
    this.delayMs = 0;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    if (this.down) {
      request.socket.destroy();
      return;
    }
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    if (this.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.delayMs));
    if (this.down || response.destroyed) {
      request.socket.destroy();
      return;
    }
    const url = new URL(request.url ?? '/', 'http://fake');
    const text = Buffer.concat(chunks).toString('utf8');
    let body: Record<string, unknown> = {};
    try {
      if (text) body = JSON.parse(text) as Record<string, unknown>;
    } catch {
      return this.send(response, this.error(47001)); // data format error
    }
    const q = (name: string) => url.searchParams.get(name) ?? '';
    if (url.pathname === '/sns/jscode2session' && request.method === 'GET') {
      this.calls.jscode2session += 1;
      return this.send(response, this.jscode2session(q('appid'), q('secret'), q('js_code'), q('grant_type')));
    }
    if (url.pathname === '/cgi-bin/stable_token' && request.method === 'POST') {
      this.calls.token += 1;
      return this.send(response, this.token(body.appid, body.secret, body.grant_type, body.force_refresh === true));
    }
    if (url.pathname === '/cgi-bin/token' && request.method === 'GET') {
      this.calls.token += 1;
      return this.send(response, this.token(q('appid'), q('secret'), q('grant_type'), true));
    }
    if (url.pathname === '/wxa/business/getuserphonenumber' && request.method === 'POST') {
      this.calls.phone += 1;
      return this.send(response, this.phone(q('access_token'), body.code));
    }
    response.writeHead(404, { 'content-type': 'text/html' });
    response.end('<html><body>404 Not Found</body></html>');
  }

  private jscode2session(appid: string, secret: string, code: string, grantType: string): object {
    const failure = this.failures.jscode2session.shift();
    if (failure !== undefined) return this.error(failure);
    if (appid !== this.appid) return this.error(40013);
    if (secret !== this.secret) return this.error(40125);
    if (grantType !== 'authorization_code') return this.error(40002);
    const entry = this.codes.get(code);
    if (!entry) return this.error(40029);
    if (entry.used) return this.error(40163);
    entry.used = true;
    return { session_key: entry.sessionKey, openid: entry.user.openid, ...pick(entry.user) };
  }

  private token(appid: unknown, secret: unknown, grantType: unknown, fresh: boolean): object {
    const failure = this.failures.token.shift();
    if (failure !== undefined) return this.error(failure);
    if (appid !== this.appid) return this.error(40013);
    if (secret !== this.secret) return this.error(40125);
    if (grantType !== 'client_credential') return this.error(40002);
    if (fresh || this.stableToken === undefined) {
      if (fresh && this.stableToken) this.validTokens.delete(this.stableToken);
      this.stableToken = `${randomBytes(48).toString('base64url')}`;
      this.validTokens.add(this.stableToken);
      this.tokensIssued.push(this.stableToken);
    }
    return { access_token: this.stableToken, expires_in: this.expiresIn };
  }

  private phone(accessToken: string, code: unknown): object {
    const failure = this.failures.phone.shift();
    if (failure !== undefined) return this.error(failure);
    if (!this.validTokens.has(accessToken)) return this.error(40001);
    const entry = typeof code === 'string' ? this.phoneCodes.get(code) : undefined;
    if (!entry || entry.used) return this.error(40029);
    entry.used = true;
    const [, countryCode = '86', pure = entry.phone] = /^\+(86|1|44|852|853|886|\d{2})(\d+)$/.exec(entry.phone) ?? [];
    return {
      errcode: 0,
      errmsg: 'ok',
      phone_info: {
        phoneNumber: entry.phone,
        purePhoneNumber: pure,
        countryCode,
        watermark: { timestamp: Math.floor(Date.now() / 1000), appid: this.appid },
      },
    };
  }

  private error(errcode: number): object {
    const rid = randomUUID().split('-').slice(0, 3).join('-');
    return { errcode, errmsg: `${ERRMSG[errcode] ?? 'error'}, rid: ${rid}` };
  }

  private send(response: ServerResponse, body: object): void {
    this.answers += 1;
    const type = this.answers % 2 === 0 ? 'text/plain' : 'application/json; encoding=utf-8';
    response.writeHead(200, { 'content-type': type });
    response.end(JSON.stringify(body));
  }
}

function pick(user: WeChatUser): { unionid?: string } {
  return user.unionid ? { unionid: user.unionid } : {};
}

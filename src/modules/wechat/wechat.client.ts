import { request } from 'undici';

/**
 * The three WeChat APIs of sign-in (shared/reference/protocols.md §1): code2Session, the server's
 * access token (stable_token) and the user's phone number. WeChat answers HTTP 200 for errors too,
 * with `errcode`, and sometimes labels JSON as text/plain: the body is parsed whatever the header says.
 */
export interface WeChatSession {
  openid: string;
  unionid: string | undefined;
  sessionKey: string;
}

export interface WeChatAccessToken {
  token: string;
  /** Seconds. */
  expiresIn: number;
}

export interface WeChatPhone {
  /** With the country code for numbers outside China (`phoneNumber`). */
  phoneNumber: string;
  purePhoneNumber: string;
  countryCode: string;
}

/** WeChat answered with an error code (`errmsg` ends in a request id: never compared). */
export class WeChatApiError extends Error {
  constructor(
    readonly errcode: number,
    readonly errmsg: string,
  ) {
    super(`WeChat errcode ${errcode}: ${errmsg}`);
    this.name = 'WeChatApiError';
  }
}

/** WeChat could not be reached, timed out, or answered something that is not its JSON. */
export class WeChatUnreachableError extends Error {
  override readonly name = 'WeChatUnreachableError';
}

export interface WeChatClientOptions {
  appid: string;
  secret: string;
  baseUrl: string;
  timeoutMs: number;
}

export class WeChatClient {
  constructor(private readonly options: WeChatClientOptions) {}

  get appid(): string {
    return this.options.appid;
  }

  async code2Session(code: string): Promise<WeChatSession> {
    const query = new URLSearchParams({
      appid: this.options.appid,
      secret: this.options.secret,
      js_code: code,
      grant_type: 'authorization_code',
    });
    const body = await this.call('GET', `/sns/jscode2session?${query.toString()}`);
    const { openid, unionid, session_key: sessionKey } = body;
    if (typeof openid !== 'string' || !openid || typeof sessionKey !== 'string')
      throw new WeChatUnreachableError('jscode2session answered without an openid');
    return { openid, unionid: typeof unionid === 'string' && unionid ? unionid : undefined, sessionKey };
  }

  /** The stable access token: the same one while it is valid, a new one with `forceRefresh`. */
  async stableToken(forceRefresh: boolean): Promise<WeChatAccessToken> {
    const body = await this.call('POST', '/cgi-bin/stable_token', {
      grant_type: 'client_credential',
      appid: this.options.appid,
      secret: this.options.secret,
      force_refresh: forceRefresh,
    });
    const { access_token: token, expires_in: expiresIn } = body;
    if (typeof token !== 'string' || !token) throw new WeChatUnreachableError('stable_token answered without a token');
    return { token, expiresIn: typeof expiresIn === 'number' && expiresIn > 0 ? expiresIn : 7200 };
  }

  async phoneNumber(accessToken: string, code: string): Promise<WeChatPhone> {
    const path = `/wxa/business/getuserphonenumber?access_token=${encodeURIComponent(accessToken)}`;
    const body = await this.call('POST', path, { code });
    const info = body.phone_info as Record<string, unknown> | undefined;
    const phoneNumber = info?.phoneNumber;
    if (typeof phoneNumber !== 'string' || !phoneNumber)
      throw new WeChatUnreachableError('getuserphonenumber answered without a number');
    return {
      phoneNumber,
      purePhoneNumber: typeof info?.purePhoneNumber === 'string' ? info.purePhoneNumber : phoneNumber,
      // A string in the documentation's table, a number in some of its examples.
      countryCode:
        typeof info?.countryCode === 'string' || typeof info?.countryCode === 'number' ? String(info.countryCode) : '',
    };
  }

  private async call(method: 'GET' | 'POST', path: string, json?: unknown): Promise<Record<string, unknown>> {
    let text: string;
    try {
      const response = await request(`${this.options.baseUrl.replace(/\/+$/, '')}${path}`, {
        method,
        headers: json === undefined ? {} : { 'content-type': 'application/json' },
        body: json === undefined ? undefined : JSON.stringify(json),
        headersTimeout: this.options.timeoutMs,
        bodyTimeout: this.options.timeoutMs,
      });
      text = await response.body.text();
      if (response.statusCode !== 200) throw new WeChatUnreachableError(`WeChat answered HTTP ${response.statusCode}`);
    } catch (error) {
      if (error instanceof WeChatUnreachableError) throw error;
      throw new WeChatUnreachableError(`WeChat unreachable: ${(error as Error).message}`, { cause: error });
    }
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new WeChatUnreachableError('WeChat answered something that is not JSON');
    }
    if (typeof body !== 'object' || body === null) throw new WeChatUnreachableError('WeChat answered no object');
    const record = body as Record<string, unknown>;
    const errcode = Number(record.errcode ?? 0);
    if (errcode !== 0) throw new WeChatApiError(errcode, typeof record.errmsg === 'string' ? record.errmsg : '');
    return record;
  }
}

import type { KeyObject } from 'node:crypto';
import { request } from 'undici';
import type { Clock } from '#core/clock.ts';
import { authorization, checkSignature, readSignatureHeaders, type VerifyFailure } from './wechat-pay.crypto.ts';

/**
 * The HTTP side of WeChat Pay API v3: every request signed (`Authorization:
 * WECHATPAY2-SHA256-RSA2048 …` over method, path with query, time, nonce and the exact body bytes),
 * every successful answer verified with the WeChat Pay public key before it is believed (a probe or a
 * bad signature makes the call's outcome unknown: `WeChatPayUntrusted`). JSON in and out.
 */
export interface WeChatPayKeys {
  mchid: string;
  serial: string;
  privateKey: KeyObject;
  publicKeyId: string;
  publicKey: KeyObject;
}

/** WeChat Pay answered with an error of its own: `{code, message, detail?}` and a 4xx/5xx status. */
export class WeChatPayError extends Error {
  override readonly name = 'WeChatPayError';
  constructor(
    readonly status: number,
    readonly code: string,
    readonly detail: string,
  ) {
    super(`WeChat Pay answered HTTP ${status} ${code}: ${detail}`);
  }
}

/** WeChat Pay could not be reached, did not answer in time, or answered something that is not its JSON. */
export class WeChatPayUnreachable extends Error {
  override readonly name = 'WeChatPayUnreachable';
}

/** A 2xx answer whose signature did not verify (forged, a probe, another key, stale): nothing in it is believed. */
export class WeChatPayUntrusted extends Error {
  override readonly name = 'WeChatPayUntrusted';
  constructor(readonly reason: VerifyFailure) {
    super(`WeChat Pay's answer failed verification (${reason})`);
  }
}

export interface WeChatPayAnswer {
  status: number;
  /** The parsed JSON body; undefined for 204. */
  body: Record<string, unknown> | undefined;
}

const USER_AGENT = 'Tollgate (WeChat Pay API v3; node:crypto)';

export class WeChatPayClient {
  constructor(
    private readonly keys: WeChatPayKeys,
    private readonly options: { baseUrl: string; timeoutMs: number; clock: Clock },
  ) {}

  get mchid(): string {
    return this.keys.mchid;
  }

  /** Sends one signed request; resolves with a verified 2xx answer, throws for anything else. */
  async call(method: 'GET' | 'POST', pathAndQuery: string, json?: unknown): Promise<WeChatPayAnswer> {
    const body = json === undefined ? '' : JSON.stringify(json);
    const now = Math.floor(this.options.clock.now() / 1000);
    const auth = authorization(this.keys, method, pathAndQuery, body, now);
    let status: number;
    let headers: Record<string, string | string[] | undefined>;
    let raw: Buffer;
    try {
      const response = await request(`${this.options.baseUrl}${pathAndQuery}`, {
        method,
        headers: {
          authorization: auth.header,
          accept: 'application/json',
          'user-agent': USER_AGENT,
          'wechatpay-serial': this.keys.publicKeyId,
          ...(json === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: json === undefined ? undefined : body,
        headersTimeout: this.options.timeoutMs,
        bodyTimeout: this.options.timeoutMs,
      });
      status = response.statusCode;
      headers = response.headers;
      raw = Buffer.from(await response.body.arrayBuffer());
    } catch (error) {
      throw new WeChatPayUnreachable(`WeChat Pay unreachable: ${(error as Error).message}`, { cause: error });
    }
    if (status < 200 || status >= 300) throw errorOf(status, raw);
    const failure = checkSignature(
      { keyId: this.keys.publicKeyId, publicKey: this.keys.publicKey },
      readSignatureHeaders(headers),
      raw,
      this.options.clock.now(),
    );
    if (failure) throw new WeChatPayUntrusted(failure);
    if (raw.length === 0) return { status, body: undefined };
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw.toString('utf8'));
    } catch {
      throw new WeChatPayUnreachable(`WeChat Pay answered HTTP ${status} with something that is not JSON`);
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
      throw new WeChatPayUnreachable(`WeChat Pay answered HTTP ${status} with no object`);
    return { status, body: parsed as Record<string, unknown> };
  }
}

function errorOf(status: number, raw: Buffer): Error {
  try {
    const body = JSON.parse(raw.toString('utf8')) as Record<string, unknown>;
    if (typeof body.code === 'string')
      return new WeChatPayError(status, body.code, typeof body.message === 'string' ? body.message : '');
  } catch {
    // not WeChat Pay's JSON: a proxy or a load balancer answered
  }
  return new WeChatPayUnreachable(`WeChat Pay answered HTTP ${status} without its error body`);
}

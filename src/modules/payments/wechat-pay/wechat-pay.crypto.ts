import { createCipheriv, createDecipheriv, randomBytes, sign, verify, type KeyObject } from 'node:crypto';

/**
 * The cryptography of WeChat Pay API v3, on node:crypto only (docs/wechat-pay.md):
 * requests signed RSASSA-PKCS1-v1_5 SHA-256 with the merchant's private key
 * (`WECHATPAY2-SHA256-RSA2048`), answers and notifications verified with the WeChat Pay public key
 * over `timestamp\nnonce\nbody\n` (the raw bytes), and notification resources opened with
 * AEAD_AES_256_GCM under the APIv3 key. The fake WeChat Pay server of the tests uses the same helpers
 * the other way round only where the protocol is symmetric (nonces, the time format).
 */

export const AUTH_SCHEMA = 'WECHATPAY2-SHA256-RSA2048';
/** Signatures WeChat Pay sends on purpose to check that a merchant verifies: never valid. */
export const PROBE_PREFIX = 'WECHATPAY/SIGNTEST/';
/** How far a signed timestamp may be from our clock (WeChat's SDKs: five minutes). */
export const MAX_SKEW_SECONDS = 300;

/** 32 characters of [0-9a-f], as the SDKs make them. */
export function nonce(): string {
  return randomBytes(16).toString('hex');
}

/** The message a request's signature covers: method, path with query, seconds, nonce, body, each line ended by \n. */
export function requestMessage(
  method: string,
  pathAndQuery: string,
  timestamp: number,
  nonceStr: string,
  body: string,
): string {
  return `${method}\n${pathAndQuery}\n${timestamp}\n${nonceStr}\n${body}\n`;
}

export interface SignedAuthorization {
  header: string;
  nonce: string;
  timestamp: number;
}

/** The `Authorization` header of a request to WeChat Pay. */
export function authorization(
  merchant: { mchid: string; serial: string; privateKey: KeyObject },
  method: string,
  pathAndQuery: string,
  body: string,
  nowSeconds: number,
): SignedAuthorization {
  const nonceStr = nonce();
  const signature = rsaSign(merchant.privateKey, requestMessage(method, pathAndQuery, nowSeconds, nonceStr, body));
  return {
    header: `${AUTH_SCHEMA} mchid="${merchant.mchid}",nonce_str="${nonceStr}",timestamp="${nowSeconds}",serial_no="${merchant.serial}",signature="${signature}"`,
    nonce: nonceStr,
    timestamp: nowSeconds,
  };
}

export function rsaSign(privateKey: KeyObject, message: string | Buffer): string {
  return sign('sha256', typeof message === 'string' ? Buffer.from(message, 'utf8') : message, privateKey).toString(
    'base64',
  );
}

/** `paySign` of `wx.requestPayment`: appId, timeStamp, nonceStr and package, each line ended by \n. */
export function paySign(
  privateKey: KeyObject,
  appId: string,
  timeStamp: string,
  nonceStr: string,
  pkg: string,
): string {
  return rsaSign(privateKey, `${appId}\n${timeStamp}\n${nonceStr}\n${pkg}\n`);
}

/** The headers WeChat Pay signs its answers and notifications with. */
export interface SignatureHeaders {
  timestamp: string | undefined;
  nonce: string | undefined;
  signature: string | undefined;
  serial: string | undefined;
}

export type VerifyFailure = 'missing' | 'probe' | 'unknown_key' | 'stale' | 'bad_signature';

export function readSignatureHeaders(headers: Record<string, string | string[] | undefined>): SignatureHeaders {
  const one = (name: string) => {
    const value = headers[name];
    return Array.isArray(value) ? value[0] : value;
  };
  return {
    timestamp: one('wechatpay-timestamp'),
    nonce: one('wechatpay-nonce'),
    signature: one('wechatpay-signature'),
    serial: one('wechatpay-serial'),
  };
}

/**
 * Checks a WeChat Pay signature over the raw body. Fails closed: headers missing, a probe
 * (`WECHATPAY/SIGNTEST/`), a key id other than the configured one, a timestamp 5 minutes or more
 * away from `nowMs`, or a signature the public key does not verify. Returns null when it is good.
 */
export function checkSignature(
  platform: { keyId: string; publicKey: KeyObject },
  headers: SignatureHeaders,
  rawBody: Buffer,
  nowMs: number,
): VerifyFailure | null {
  const { timestamp, nonce: nonceStr, signature, serial } = headers;
  if (!timestamp || !nonceStr || !signature || !serial) return 'missing';
  if (signature.startsWith(PROBE_PREFIX)) return 'probe';
  if (serial !== platform.keyId) return 'unknown_key';
  if (!/^\d{1,12}$/.test(timestamp) || Math.abs(nowMs / 1000 - Number(timestamp)) >= MAX_SKEW_SECONDS) return 'stale';
  const message = Buffer.concat([Buffer.from(`${timestamp}\n${nonceStr}\n`, 'utf8'), rawBody, Buffer.from('\n')]);
  let ok = false;
  try {
    ok = verify('sha256', message, platform.publicKey, Buffer.from(signature, 'base64'));
  } catch {
    ok = false;
  }
  return ok ? null : 'bad_signature';
}

export interface EncryptedResource {
  algorithm: string;
  ciphertext: string;
  associated_data?: string;
  nonce: string;
}

/** Opens a notification's `resource` (AEAD_AES_256_GCM, tag = the last 16 bytes); throws when it does not authenticate. */
export function decryptResource(apiV3Key: Buffer, resource: EncryptedResource): string {
  if (resource.algorithm !== 'AEAD_AES_256_GCM') throw new Error(`unknown algorithm ${resource.algorithm}`);
  const data = Buffer.from(resource.ciphertext, 'base64');
  if (data.length <= 16) throw new Error('ciphertext too short');
  const decipher = createDecipheriv('aes-256-gcm', apiV3Key, Buffer.from(resource.nonce, 'utf8'));
  decipher.setAuthTag(data.subarray(data.length - 16));
  decipher.setAAD(Buffer.from(resource.associated_data ?? '', 'utf8'));
  return Buffer.concat([decipher.update(data.subarray(0, data.length - 16)), decipher.final()]).toString('utf8');
}

/** The other way (tests, the fake): ciphertext = base64(encrypted || tag). */
export function encryptResource(apiV3Key: Buffer, plaintext: string, associatedData: string, nonceStr: string): string {
  const cipher = createCipheriv('aes-256-gcm', apiV3Key, Buffer.from(nonceStr, 'utf8'));
  cipher.setAAD(Buffer.from(associatedData, 'utf8'));
  const encrypted = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return Buffer.concat([encrypted, cipher.getAuthTag()]).toString('base64');
}

/** RFC 3339 in China time with seconds, as WeChat Pay writes and reads times: `2026-12-07T18:00:00+08:00`. */
export function chinaTime(epochMs: number): string {
  return new Date(Math.floor(epochMs / 1000) * 1000 + 8 * 3600_000).toISOString().replace(/\.\d{3}Z$/, '+08:00');
}

import { createPrivateKey, createPublicKey } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { ConfigError, type Env } from './config.ts';

/**
 * WeChat Pay API v3 settings, checked at start (docs/wechat-pay.md). Either none of them is set
 * (WeChat Pay is off and its routes say so) or all of them are, and each is usable: the merchant
 * private key and the WeChat Pay public key parse (PEM text or the path of a PEM file), the APIv3 key
 * is 32 bytes, the public key id is WeChat's `PUB_KEY_ID_…`, the notify URL has no query string.
 * Anything less stops the start with the names of what is missing or wrong.
 */
export interface WeChatPaySettings {
  mchid: string;
  /** The appid payments are made under: WECHAT_PAY_APPID, else the mini-program's WECHAT_APPID. */
  appid: string;
  /** Serial number of the merchant API certificate (the `serial_no` of our signatures). */
  serial: string;
  privateKeyPem: string;
  apiV3Key: string;
  publicKeyPem: string;
  publicKeyId: string;
  notifyUrl: string;
  refundNotifyUrl: string;
  baseUrl: string;
  timeoutMs: number;
}

const REQUIRED = [
  'WECHAT_PAY_MCH_ID',
  'WECHAT_PAY_SERIAL',
  'WECHAT_PAY_PRIVATE_KEY',
  'WECHAT_PAY_API_V3_KEY',
  'WECHAT_PAY_PUBLIC_KEY',
  'WECHAT_PAY_PUBLIC_KEY_ID',
  'WECHAT_PAY_NOTIFY_URL',
] as const;

/** What seed 003's `.env` sets (its WeChat Pay had no request signing keys): alone, they are not a v3 merchant. */
const SEED_003_ONLY = new Set<string>(['WECHAT_PAY_MCH_ID', 'WECHAT_PAY_API_V3_KEY', 'WECHAT_PAY_NOTIFY_URL']);

export function readWeChatPay(env: Env): { settings: WeChatPaySettings | undefined; warnings: string[] } {
  const given = REQUIRED.filter((name) => env[name] !== undefined);
  if (given.length === 0) return { settings: undefined, warnings: [] };
  if (given.every((name) => SEED_003_ONLY.has(name)))
    return {
      settings: undefined,
      warnings: [
        `WeChat Pay is off: ${given.join(', ')} alone (seed 003's settings) cannot sign API v3 requests; set ${REQUIRED.filter((name) => !SEED_003_ONLY.has(name)).join(', ')} too (docs/wechat-pay.md)`,
      ],
    };
  const missing: string[] = REQUIRED.filter((name) => env[name] === undefined);
  const appid = env.WECHAT_PAY_APPID ?? env.WECHAT_APPID;
  if (!appid) missing.push('WECHAT_PAY_APPID (or WECHAT_APPID)');
  if (missing.length > 0)
    throw new ConfigError(
      `Invalid configuration: WeChat Pay is half configured: ${given.join(', ')} ${given.length > 1 ? 'are' : 'is'} set but ${missing.join(', ')} ${missing.length > 1 ? 'are' : 'is'} missing (set all of them, or none to keep WeChat Pay off; docs/wechat-pay.md)`,
    );
  const problems: string[] = [];
  const privateKeyPem = readPem(env.WECHAT_PAY_PRIVATE_KEY!, 'WECHAT_PAY_PRIVATE_KEY', problems);
  if (privateKeyPem) {
    try {
      const key = createPrivateKey(privateKeyPem);
      if (key.asymmetricKeyType !== 'rsa') problems.push('WECHAT_PAY_PRIVATE_KEY must be an RSA private key');
    } catch {
      problems.push('WECHAT_PAY_PRIVATE_KEY is not a PEM private key (apiclient_key.pem)');
    }
  }
  const publicKeyPem = readPem(env.WECHAT_PAY_PUBLIC_KEY!, 'WECHAT_PAY_PUBLIC_KEY', problems);
  if (publicKeyPem) {
    try {
      const key = createPublicKey(publicKeyPem);
      if (key.asymmetricKeyType !== 'rsa') problems.push('WECHAT_PAY_PUBLIC_KEY must be an RSA public key');
    } catch {
      problems.push('WECHAT_PAY_PUBLIC_KEY is not a PEM public key (pub_key.pem)');
    }
  }
  const apiV3Key = env.WECHAT_PAY_API_V3_KEY!;
  if (Buffer.byteLength(apiV3Key, 'utf8') !== 32)
    problems.push(
      `WECHAT_PAY_API_V3_KEY (or seed 003's WECHAT_PAY_KEY) must be the 32-character APIv3 key (got a value of ${apiV3Key.length} characters)`,
    );
  if (!/^PUB_KEY_ID_\w+$/.test(env.WECHAT_PAY_PUBLIC_KEY_ID!))
    problems.push(
      `WECHAT_PAY_PUBLIC_KEY_ID must be the id WeChat Pay shows next to the public key, PUB_KEY_ID_… (got ${JSON.stringify(env.WECHAT_PAY_PUBLIC_KEY_ID)})`,
    );
  if (!/^\d{1,32}$/.test(env.WECHAT_PAY_MCH_ID!))
    problems.push(
      `WECHAT_PAY_MCH_ID must be the merchant number, digits (got ${JSON.stringify(env.WECHAT_PAY_MCH_ID)})`,
    );
  if (!/^[0-9A-Fa-f]{8,64}$/.test(env.WECHAT_PAY_SERIAL!))
    problems.push('WECHAT_PAY_SERIAL must be the hexadecimal serial number of the merchant API certificate');
  const notifyUrl = checkNotifyUrl(env.WECHAT_PAY_NOTIFY_URL!, 'WECHAT_PAY_NOTIFY_URL', env, problems);
  const refundNotifyUrl = env.WECHAT_PAY_REFUND_NOTIFY_URL
    ? checkNotifyUrl(env.WECHAT_PAY_REFUND_NOTIFY_URL, 'WECHAT_PAY_REFUND_NOTIFY_URL', env, problems)
    : notifyUrl;
  if (problems.length > 0) throw new ConfigError(`Invalid configuration: ${problems.join('; ')}`);
  const settings = {
    mchid: env.WECHAT_PAY_MCH_ID!,
    appid: appid!,
    serial: env.WECHAT_PAY_SERIAL!.toUpperCase(),
    privateKeyPem: privateKeyPem!,
    apiV3Key,
    publicKeyPem: publicKeyPem!,
    publicKeyId: env.WECHAT_PAY_PUBLIC_KEY_ID!,
    notifyUrl,
    refundNotifyUrl,
    baseUrl: env.WECHAT_PAY_BASE_URL.replace(/\/+$/, ''),
    timeoutMs: env.WECHAT_PAY_TIMEOUT * 1000,
  };
  return { settings, warnings: [] };
}

/** PEM text as given (`\n` written as two characters is accepted, as .env files often do), or the file it names. */
function readPem(value: string, name: string, problems: string[]): string | undefined {
  const text = value.trim();
  if (text.startsWith('-----BEGIN')) return text.replace(/\\n/g, '\n');
  if (!existsSync(text)) {
    problems.push(`${name} must be PEM text or the path of a PEM file (no file at ${JSON.stringify(text)})`);
    return undefined;
  }
  try {
    return readFileSync(text, 'utf8');
  } catch (error) {
    problems.push(`${name}: ${text} cannot be read (${(error as Error).message})`);
    return undefined;
  }
}

function checkNotifyUrl(value: string, name: string, env: Env, problems: string[]): string {
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:'))
    problems.push(`${name} must be a URL (got ${JSON.stringify(value)})`);
  else if (url.search) problems.push(`${name} must have no query string (WeChat Pay refuses one)`);
  else if (url.protocol !== 'https:' && env.NODE_ENV === 'production')
    problems.push(`${name} must be https:// (WeChat Pay notifies only https addresses)`);
  return value;
}

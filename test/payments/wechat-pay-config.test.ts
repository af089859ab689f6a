import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '#core/config.ts';
import { TEST_SECRETS } from '#test/helpers/test-app.ts';

/** WECHAT_PAY_*: all or nothing, each value usable, or the start stops naming what is wrong (docs/wechat-pay.md). */
const dir = mkdtempSync(join(tmpdir(), 'tollgate-wxpay-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const merchant = generateKeyPairSync('rsa', { modulusLength: 2048 });
const platform = generateKeyPairSync('rsa', { modulusLength: 2048 });
const privatePem = merchant.privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
const publicPem = platform.publicKey.export({ format: 'pem', type: 'spki' }) as string;
const FULL = {
  WECHAT_PAY_MCH_ID: '1900000109',
  WECHAT_PAY_APPID: 'wxd678efh567hg6787',
  WECHAT_PAY_SERIAL: '5157F09EFDC096DE15EBE81A47057A7232F1B8E1',
  WECHAT_PAY_PRIVATE_KEY: privatePem,
  WECHAT_PAY_API_V3_KEY: 'a'.repeat(32),
  WECHAT_PAY_PUBLIC_KEY: publicPem,
  WECHAT_PAY_PUBLIC_KEY_ID: 'PUB_KEY_ID_0114232134912410000000000000000000',
  WECHAT_PAY_NOTIFY_URL: 'https://pay.example.com/v1/orders/payment-callback',
};
const without = (env: Record<string, string>, ...names: string[]) =>
  Object.fromEntries(Object.entries(env).filter(([name]) => !names.includes(name)));
const load = (env: Record<string, string>) => loadConfig({ ...TEST_SECRETS, DATA_DIR: dir, ...env });
const refusal = (env: Record<string, string>) => {
  try {
    load(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('the configuration was accepted');
};

describe('WeChat Pay configuration', () => {
  it('none set: WeChat Pay is off; all set: read, with the default base URL and the notify URL for refunds too', () => {
    expect(load({}).wechatPay).toBeUndefined();
    const config = load(FULL);
    expect(config.wechatPay).toMatchObject({
      mchid: '1900000109',
      appid: 'wxd678efh567hg6787',
      baseUrl: 'https://api.mch.weixin.qq.com',
      refundNotifyUrl: FULL.WECHAT_PAY_NOTIFY_URL,
      publicKeyId: FULL.WECHAT_PAY_PUBLIC_KEY_ID,
    });
  });

  it('takes the keys as PEM text, as PEM with literal \\n, or as file paths; the appid from WECHAT_APPID; seed 003 WECHAT_PAY_KEY as the APIv3 key', () => {
    const keyFile = join(dir, 'apiclient_key.pem');
    const pubFile = join(dir, 'pub_key.pem');
    writeFileSync(keyFile, privatePem);
    writeFileSync(pubFile, publicPem);
    const rest = without(FULL, 'WECHAT_PAY_APPID', 'WECHAT_PAY_API_V3_KEY');
    const config = load({
      ...rest,
      WECHAT_PAY_PRIVATE_KEY: keyFile,
      WECHAT_PAY_PUBLIC_KEY: publicPem.replace(/\n/g, '\\n'),
      WECHAT_PAY_KEY: 'b'.repeat(32),
      WECHAT_APPID: 'wxminiprogram0001',
      WECHAT_SECRET: 'secret',
    });
    expect(config.wechatPay).toMatchObject({ appid: 'wxminiprogram0001', apiV3Key: 'b'.repeat(32) });
    expect(config.wechatPay!.privateKeyPem).toContain('BEGIN PRIVATE KEY');
    expect(load({ ...FULL, WECHAT_PAY_PUBLIC_KEY: pubFile }).wechatPay!.publicKeyPem).toBe(publicPem);
    // Tollgate's own name wins over the seed's.
    expect(load({ ...FULL, WECHAT_PAY_KEY: 'c'.repeat(32) }).wechatPay!.apiV3Key).toBe('a'.repeat(32));
  });

  it('half configured: the start stops and names what is missing', () => {
    const half = without(FULL, 'WECHAT_PAY_PUBLIC_KEY', 'WECHAT_PAY_PUBLIC_KEY_ID');
    const message = refusal(half);
    expect(message).toMatch(/WeChat Pay is half configured/);
    expect(message).toMatch(/WECHAT_PAY_PUBLIC_KEY, WECHAT_PAY_PUBLIC_KEY_ID are missing/);
    expect(refusal({ WECHAT_PAY_PRIVATE_KEY: privatePem })).toMatch(/WECHAT_PAY_MCH_ID, WECHAT_PAY_SERIAL/);
    const noAppid = without(FULL, 'WECHAT_PAY_APPID');
    expect(refusal(noAppid)).toMatch(/WECHAT_PAY_APPID \(or WECHAT_APPID\) is missing/);
  });

  it('wrong values stop the start, each named, without echoing a secret', () => {
    const message = refusal({
      ...FULL,
      WECHAT_PAY_MCH_ID: 'your_merchant_id',
      WECHAT_PAY_PRIVATE_KEY: '/nowhere/apiclient_key.pem',
      WECHAT_PAY_PUBLIC_KEY: '-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----',
      WECHAT_PAY_API_V3_KEY: 'short-secret-key',
      WECHAT_PAY_PUBLIC_KEY_ID: 'ABCDEF',
      WECHAT_PAY_NOTIFY_URL: 'https://pay.example.com/notify?x=1',
    });
    for (const name of [
      'WECHAT_PAY_MCH_ID',
      'WECHAT_PAY_PRIVATE_KEY',
      'WECHAT_PAY_PUBLIC_KEY is not',
      'WECHAT_PAY_API_V3_KEY',
      'WECHAT_PAY_PUBLIC_KEY_ID',
      'WECHAT_PAY_NOTIFY_URL must have no query string',
    ])
      expect(message).toContain(name);
    expect(message).not.toContain('short-secret-key');
    expect(
      refusal({ ...FULL, NODE_ENV: 'production', MAIL_TRANSPORT: 'log', WECHAT_PAY_NOTIFY_URL: 'http://x.example/n' }),
    ).toMatch(/WECHAT_PAY_NOTIFY_URL must be https/);
  });

  it("seed 003's own three settings alone start Tollgate with WeChat Pay off and a warning saying what v3 needs", () => {
    const config = load({
      WECHAT_PAY_MCH_ID: 'your_merchant_id',
      WECHAT_PAY_KEY: 'your_pay_key',
      WECHAT_PAY_NOTIFY_URL: 'https://your-domain.com/v1/orders/payment-callback',
    });
    expect(config.wechatPay).toBeUndefined();
    expect(config.warnings.join('\n')).toMatch(/WeChat Pay is off: .*set WECHAT_PAY_SERIAL, WECHAT_PAY_PRIVATE_KEY/);
  });
});

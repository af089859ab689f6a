import { createPrivateKey, createPublicKey } from 'node:crypto';
import type { FastifyBaseLogger } from 'fastify';
import type { Clock } from '#core/clock.ts';
import type { Config } from '#core/config.ts';
import type { PaymentSink } from '../payment-provider.ts';
import { WeChatPayClient } from './wechat-pay.client.ts';
import { WeChatPayNotifications } from './wechat-pay.notify.ts';
import { WeChatPay } from './wechat-pay.provider.ts';

export interface WeChatPayDeps {
  clock: Clock;
  logger: FastifyBaseLogger;
}

/** WeChat Pay from the configuration (config-wechat-pay.ts has checked it); null when WECHAT_PAY_* is not set. */
export function createWeChatPay(config: Config, deps: WeChatPayDeps): WeChatPay | null {
  const settings = config.wechatPay;
  if (!settings) return null;
  const privateKey = createPrivateKey(settings.privateKeyPem);
  const client = new WeChatPayClient(
    {
      mchid: settings.mchid,
      serial: settings.serial,
      privateKey,
      publicKeyId: settings.publicKeyId,
      publicKey: createPublicKey(settings.publicKeyPem),
    },
    { baseUrl: settings.baseUrl, timeoutMs: settings.timeoutMs, clock: deps.clock },
  );
  return new WeChatPay(client, {
    mchid: settings.mchid,
    appid: settings.appid,
    privateKey,
    notifyUrl: settings.notifyUrl,
    refundNotifyUrl: settings.refundNotifyUrl,
    clock: deps.clock,
    log: deps.logger,
  });
}

/** What verifies and applies WeChat Pay's notifications; null when WeChat Pay is off. */
export function createWeChatPayNotifications(
  config: Config,
  sink: PaymentSink,
  deps: WeChatPayDeps,
): WeChatPayNotifications | null {
  const settings = config.wechatPay;
  if (!settings) return null;
  return new WeChatPayNotifications(
    {
      mchid: settings.mchid,
      appid: settings.appid,
      publicKeyId: settings.publicKeyId,
      publicKey: createPublicKey(settings.publicKeyPem),
      apiV3Key: Buffer.from(settings.apiV3Key, 'utf8'),
    },
    sink,
    deps.clock,
    deps.logger,
  );
}

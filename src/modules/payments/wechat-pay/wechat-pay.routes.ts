import type { FastifyInstance } from 'fastify';
import { translate } from '#core/errors.ts';
import type { App } from '#core/http/route-config.ts';
import type { WeChatPayNotifications } from './wechat-pay.notify.ts';

/**
 * Where WeChat Pay notifies: the two paths seed 003 names for payments (`/v1/vip/payment-callback`,
 * `/v1/orders/payment-callback`) and `/api/payments/wechat/notify` (refunds, and payments too): one
 * handler, which tells them apart by `event_type`. The body is kept as the bytes that came (the
 * signature covers them), in this scope only. Answers are WeChat Pay's: 204, or 4xx/5xx with
 * `{code: 'FAIL', message}`; with WeChat Pay off, 503 FAIL (it tries again later).
 */
export const WECHAT_PAY_NOTIFY_PATHS = [
  '/v1/vip/payment-callback',
  '/v1/orders/payment-callback',
  '/api/payments/wechat/notify',
] as const;

/** WeChat Pay's notifications are small (a few hundred bytes encrypted); anything far larger is not one. */
const NOTIFY_BODY_LIMIT = 64 * 1024;

export function registerWeChatPayRoutes(app: App, notifications: WeChatPayNotifications | null): void {
  void app.register((scope: FastifyInstance, _options, done) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: NOTIFY_BODY_LIMIT }, (_request, body, done) =>
      done(null, body),
    );
    scope.setErrorHandler((error: { statusCode?: number; message: string }, request, reply) => {
      const status = error.statusCode && error.statusCode >= 400 && error.statusCode < 600 ? error.statusCode : 500;
      request.log.warn({ err: error }, 'WeChat Pay notification could not be read');
      return reply.code(status).send({ code: 'FAIL', message: error.message });
    });
    for (const url of WECHAT_PAY_NOTIFY_PATHS)
      scope.post(
        url,
        {
          config: { access: 'public' },
          schema: {
            tags: ['payments'],
            summary: 'WeChat Pay notification (payment or refund); verified, decrypted, applied once',
          },
        },
        async (request, reply) => {
          if (!notifications)
            return reply.code(503).send({ code: 'FAIL', message: translate('zh', 'PAYMENTS_NOT_CONFIGURED') });
          const raw = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
          const answer = await notifications.handle(request.headers, raw);
          return answer.body ? reply.code(answer.status).send(answer.body) : reply.code(answer.status).send();
        },
      );
    done();
  });
}

import { STATUS_CODES } from 'node:http';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { App } from '#core/http/route-config.ts';
import type { WeChatPayNotifications } from './wechat-pay.notify.ts';

/**
 * Where WeChat Pay notifies: the two paths seed 003 names for payments (`/v1/vip/payment-callback`,
 * `/v1/orders/payment-callback`) and `/api/payments/wechat/notify` (refunds, and payments too): one
 * handler, which tells them apart by `event_type`. The body is kept as the bytes that came (the
 * signature covers them), in this scope only. Answers are WeChat Pay's: 204, or 4xx/5xx with
 * `{code: 'FAIL', message}` — written as seed 001's envelope (`success`, `statusCode`, `error`,
 * `timestamp` and `path` beside them), so one body is both WeChat's failure and Tollgate's error shape.
 * With WeChat Pay off the paths are not served (404, like any unknown path): WeChat Pay retries any
 * non-2xx, so a notification that arrives while an operator fixes the configuration is not lost.
 * Bodies up to BODY_LIMIT are read and refused by their signature (a notification is a few hundred bytes).
 */
export const WECHAT_PAY_NOTIFY_PATHS = [
  '/v1/vip/payment-callback',
  '/v1/orders/payment-callback',
  '/api/payments/wechat/notify',
] as const;

function fail(request: FastifyRequest, reply: FastifyReply, status: number, message: string) {
  return reply.code(status).send({
    success: false,
    statusCode: status,
    error: STATUS_CODES[status] ?? 'Error',
    code: 'FAIL',
    message,
    timestamp: new Date().toISOString(),
    path: request.url,
  });
}

export function registerWeChatPayRoutes(app: App, notifications: WeChatPayNotifications | null): void {
  if (!notifications) return;
  void app.register((scope: FastifyInstance, _options, done) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));
    scope.setErrorHandler((error: { statusCode?: number; message: string }, request, reply) => {
      const status = error.statusCode && error.statusCode >= 400 && error.statusCode < 600 ? error.statusCode : 500;
      request.log.warn({ err: error }, 'WeChat Pay notification could not be read');
      return fail(request, reply, status, error.message);
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
          const raw = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
          const answer = await notifications.handle(request.headers, raw);
          return answer.body
            ? fail(request, reply, answer.status, answer.body.message)
            : reply.code(answer.status).send();
        },
      );
    done();
  });
}

import { AppError } from '#core/errors.ts';
import { langOf, message } from '#core/i18n.ts';
import type { App } from '#core/http/route-config.ts';
import { CaptchaGenerateResponse, CaptchaVerifyBody, CaptchaVerifyResponse } from './captcha.schemas.ts';
import type { CaptchaService } from './captcha.service.ts';

export function registerCaptchaRoutes(app: App, captcha: CaptchaService): void {
  app.get(
    '/api/captcha/generate',
    {
      config: { access: 'public' },
      schema: { tags: ['captcha'], summary: 'A new image captcha (SVG)', response: { 200: CaptchaGenerateResponse } },
    },
    async (_request, reply) => {
      reply.header('cache-control', 'no-store');
      return captcha.generate();
    },
  );

  app.post(
    '/api/captcha/verify',
    {
      config: { access: 'public' },
      schema: {
        tags: ['captcha'],
        summary: 'Check a captcha answer (case-sensitive); a wrong answer voids the captcha',
        body: CaptchaVerifyBody,
        response: { 200: CaptchaVerifyResponse },
      },
    },
    async (request) => {
      const valid = await captcha.check(request.body.sessionId, request.body.code, { consume: false });
      if (!valid) throw new AppError('CAPTCHA_CHECK_FAILED', {}, { valid: false });
      return { message: message(langOf(request), 'CAPTCHA_OK'), valid: true };
    },
  );
}

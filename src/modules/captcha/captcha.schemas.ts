import { Type } from 'typebox';

export const CaptchaGenerateResponse = Type.Object({
  sessionId: Type.String(),
  captcha: Type.String({ description: 'SVG markup' }),
});

export const CaptchaVerifyBody = Type.Object(
  {
    sessionId: Type.String({ minLength: 1, maxLength: 128 }),
    code: Type.String({ minLength: 1, maxLength: 16 }),
  },
  { additionalProperties: false },
);

export const CaptchaVerifyResponse = Type.Object({ message: Type.String(), valid: Type.Boolean() });

import { Type } from 'typebox';
import { PublicUserSchema } from '#modules/users/users.schemas.ts';
import { EMAIL_CODE_PATTERN } from './email-code.format.ts';

export const Email = Type.String({ format: 'email', maxLength: 254, description: 'Email address' });
/** The policy (8-50, upper, lower, digit) is checked by the service so its message is the seed's. */
export const NewPassword = Type.String({ minLength: 1, maxLength: 128 });
export const EmailCode = Type.String({ pattern: EMAIL_CODE_PATTERN, description: '6-digit email code' });

export const SendCodeBody = Type.Object({ email: Email }, { additionalProperties: false });

export const RegisterBody = Type.Object(
  {
    email: Email,
    password: NewPassword,
    username: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 64,
        pattern: '\\S',
        description: 'Optional (seed 000 sends none): made up from the email, e.g. bob or bob_2',
      }),
    ),
    code: EmailCode,
  },
  { additionalProperties: false },
);

export const LoginBody = Type.Object(
  {
    email: Email,
    password: Type.String({ minLength: 1, maxLength: 128 }),
    captchaSessionId: Type.Optional(Type.String({ maxLength: 128 })),
    captchaCode: Type.Optional(Type.String({ maxLength: 16 })),
  },
  { additionalProperties: false },
);

export const ResetPasswordBody = Type.Object(
  { email: Email, code: EmailCode, newPassword: NewPassword },
  { additionalProperties: false },
);

export const RefreshBody = Type.Object(
  { refresh_token: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })) },
  { additionalProperties: false },
);

export const LoginStatusQuery = Type.Object({ email: Type.Optional(Email) }, { additionalProperties: false });

export const MessageResponse = Type.Object({ message: Type.String() });

/** Seed 001 §1.2/§1.3: `access_token` and `user`; the rest is Tollgate's session (additive). */
export const SessionResponse = Type.Object({
  access_token: Type.String(),
  token_type: Type.Literal('Bearer'),
  expires_in: Type.Integer({ description: 'Seconds until access_token expires' }),
  refresh_token: Type.String({ description: 'Single use; POST /api/auth/refresh trades it for a new pair' }),
  user: PublicUserSchema,
});

export const LoginStatusResponse = Type.Object({
  requiresCaptcha: Type.Boolean(),
  isLocked: Type.Boolean(),
  failureCount: Type.Integer(),
  remainingLockTime: Type.Integer({ description: 'Seconds' }),
});

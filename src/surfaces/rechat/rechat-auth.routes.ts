import { Type } from 'typebox';
import { AppError } from '#core/errors.ts';
import type { App } from '#core/http/route-config.ts';
import { clientOf } from '#modules/auth/auth.routes.ts';
import { RegisterBody } from '#modules/auth/auth.schemas.ts';
import type { AuthService, SignedIn } from '#modules/auth/auth.service.ts';
import { PublicUserSchema, toPublicUser } from '#modules/users/users.schemas.ts';
import type { UsersService } from '#modules/users/users.service.ts';
import { principalOf } from '#core/http/principal.ts';

/**
 * Seed 002 (Dify ReChat, a FastAPI back end): /api/v1/auth on the same services as /api/auth.
 * Errors are FastAPI's `{detail}`; login also takes OAuth2 password-form fields (username = email).
 */
const V1Session = Type.Object({
  access_token: Type.String(),
  token_type: Type.Literal('bearer'),
  expires_in: Type.Integer(),
  refresh_token: Type.String(),
  user: PublicUserSchema,
});

const V1LoginBody = Type.Object(
  {
    email: Type.Optional(Type.String({ maxLength: 254 })),
    username: Type.Optional(Type.String({ maxLength: 254, description: 'OAuth2 password form: the email' })),
    password: Type.String({ minLength: 1, maxLength: 128 }),
    captchaSessionId: Type.Optional(Type.String({ maxLength: 128 })),
    captchaCode: Type.Optional(Type.String({ maxLength: 16 })),
    grant_type: Type.Optional(Type.String()),
    scope: Type.Optional(Type.String()),
    client_id: Type.Optional(Type.String()),
    client_secret: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
);

const V1User = Type.Object({
  id: Type.String(),
  email: Type.Union([Type.String(), Type.Null()]),
  username: Type.String(),
  role: Type.String(),
  is_admin: Type.Boolean(),
  is_active: Type.Boolean(),
  created_at: Type.String(),
  updated_at: Type.String(),
});

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

function v1Session({ user, tokens }: SignedIn) {
  return {
    access_token: tokens.accessToken,
    token_type: 'bearer' as const,
    expires_in: tokens.expiresIn,
    refresh_token: tokens.refreshToken,
    user: toPublicUser(user),
  };
}

export function registerRechatAuthRoutes(app: App, deps: { auth: AuthService; users: UsersService }): void {
  const config = { access: 'public' as const, errorFormat: 'fastapi' as const };
  const tags = ['seed 002 (ReChat)'];

  app.post(
    '/api/v1/auth/register',
    {
      config,
      schema: {
        tags,
        summary: 'Register (code from POST /api/auth/send-code)',
        body: RegisterBody,
        response: { 200: V1Session },
      },
    },
    async (request) => v1Session(await deps.auth.register(request.body, clientOf(request))),
  );

  app.post(
    '/api/v1/auth/login',
    {
      config,
      schema: {
        tags,
        summary: 'Sign in with JSON or an OAuth2 password form',
        body: V1LoginBody,
        response: { 200: V1Session },
      },
    },
    async (request) => {
      const email = request.body.email ?? request.body.username;
      if (!email || !EMAIL.test(email)) {
        throw new AppError('VALIDATION_FAILED', { detail: 'email (or username) must be an email address' });
      }
      return v1Session(await deps.auth.login({ ...request.body, email }, clientOf(request)));
    },
  );

  app.get(
    '/api/v1/auth/me',
    {
      config: { ...config, access: 'user' },
      schema: { tags, summary: 'The signed-in user', security: [{ bearer: [] }], response: { 200: V1User } },
    },
    async (request) => {
      const user = await deps.users.require(principalOf(request).userId);
      return {
        ...toPublicUser(user),
        is_admin: user.role === 'admin',
        is_active: user.status === 'active',
        created_at: new Date(user.created_at).toISOString(),
        updated_at: new Date(user.updated_at).toISOString(),
      };
    },
  );
}

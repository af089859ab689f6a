import { Type } from 'typebox';
import { principalOf } from '#core/http/principal.ts';
import type { App } from '#core/http/route-config.ts';
import { clientOf } from '#modules/auth/auth.routes.ts';
import { Email, EmailCode, NewPassword } from '#modules/auth/auth.schemas.ts';
import type { EmailLinking } from '#modules/auth/email-link.service.ts';
import type { TokenService } from '#modules/auth/token.service.ts';
import type { UsersService } from '#modules/users/users.service.ts';
import type { WeChatService } from '#modules/wechat/wechat.service.ts';
import { Ok, ok } from './envelope.ts';
import { DreamUser, toDreamUser } from './dream-users.schemas.ts';

/**
 * Seed 003's /v1/auth: WeChat sign-in, refresh, the signed-in user, and what docs/seed-003.md adds
 * (the phone number, linking an email or a WeChat identity). Sessions are TokenService's, as on /api/auth.
 */
const tags = ['seed 003 (Dream)'];
const security = [{ bearer: [] }];

/** The code `wx.login()` gives the mini-program (WeChat's codes are 32 hex characters; any 1–128 are passed on). */
const WxCode = Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9_-]+$' });

const Tokens = {
  accessToken: Type.String(),
  refreshToken: Type.String(),
  /** Seconds until the access token expires. */
  expiresIn: Type.Integer(),
  tokenType: Type.Literal('Bearer'),
};
const TokenPair = Type.Object(Tokens);
const LoginAnswer = Type.Object({ ...Tokens, user: DreamUser, isNewUser: Type.Boolean() });

function tokensOf(tokens: { accessToken: string; refreshToken: string; expiresIn: number }) {
  return {
    accessToken: tokens.accessToken,
    refreshToken: tokens.refreshToken,
    expiresIn: tokens.expiresIn,
    tokenType: 'Bearer' as const,
  };
}

export function registerDreamAuthRoutes(
  app: App,
  deps: {
    wechat: WeChatService;
    tokens: TokenService;
    users: UsersService;
    emailLinking: EmailLinking;
  },
): void {
  app.post(
    '/v1/auth/wechat-login',
    {
      config: { access: 'public' },
      schema: {
        tags,
        summary: 'Sign in with a wx.login() code; a new WeChat user gets an account (and the sign-up bonus)',
        body: Type.Object(
          {
            code: WxCode,
            nickname: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
            avatarUrl: Type.Optional(Type.String({ maxLength: 1024, pattern: '^https?://' })),
          },
          { additionalProperties: false },
        ),
        response: { 200: Ok(LoginAnswer) },
      },
    },
    async (request) => {
      const { code, nickname, avatarUrl } = request.body;
      const signedIn = await deps.wechat.login(code, { nickname, avatarUrl }, clientOf(request));
      return ok({ ...tokensOf(signedIn.tokens), user: toDreamUser(signedIn.user), isNewUser: signedIn.isNewUser });
    },
  );

  app.post(
    '/v1/auth/refresh-token',
    {
      config: { access: 'public' },
      schema: {
        tags,
        summary: 'Trade a refresh token for a new pair (rotated; a reused token ends its session)',
        body: Type.Object(
          { refreshToken: Type.String({ minLength: 1, maxLength: 512 }) },
          { additionalProperties: false },
        ),
        response: { 200: Ok(TokenPair) },
      },
    },
    async (request) => ok(tokensOf(await deps.tokens.refresh(request.body.refreshToken))),
  );

  app.get(
    '/v1/auth/userinfo',
    {
      config: { access: 'user' },
      schema: { tags, summary: 'The signed-in user', security, response: { 200: Ok(DreamUser) } },
    },
    async (request) => ok(toDreamUser(await deps.users.require(principalOf(request).userId))),
  );

  app.post(
    '/v1/auth/phone',
    {
      config: { access: 'user' },
      schema: {
        tags,
        summary: "The user's phone number from a getPhoneNumber button code, kept on the account",
        security,
        body: Type.Object({ code: WxCode }, { additionalProperties: false }),
        response: {
          200: Ok(
            Type.Object({
              phoneNumber: Type.String(),
              purePhoneNumber: Type.String(),
              countryCode: Type.String(),
              user: DreamUser,
            }),
          ),
        },
      },
    },
    async (request) => {
      const { user, phone } = await deps.wechat.phone(principalOf(request).userId, request.body.code);
      return ok({ ...phone, user: toDreamUser(user) });
    },
  );

  app.post(
    '/v1/auth/wechat-link',
    {
      config: { access: 'user' },
      schema: {
        tags,
        summary: 'Link the WeChat identity of a wx.login() code to the signed-in account (409 when another has it)',
        security,
        body: Type.Object({ code: WxCode }, { additionalProperties: false }),
        response: { 200: Ok(DreamUser) },
      },
    },
    async (request) => ok(toDreamUser(await deps.wechat.link(principalOf(request).userId, request.body.code))),
  );

  app.delete(
    '/v1/auth/wechat-link',
    {
      config: { access: 'user' },
      schema: {
        tags,
        summary: 'Unlink the WeChat identity (only while an email and password remain)',
        security,
        response: { 200: Ok(DreamUser) },
      },
    },
    async (request) => ok(toDreamUser(await deps.wechat.unlink(principalOf(request).userId))),
  );

  app.post(
    '/v1/auth/email-link',
    {
      config: { access: 'user' },
      schema: {
        tags,
        summary: 'Add an email and a password to the signed-in account (code from POST /api/auth/send-code)',
        security,
        body: Type.Object({ email: Email, code: EmailCode, password: NewPassword }, { additionalProperties: false }),
        response: { 200: Ok(DreamUser) },
      },
    },
    async (request) => ok(toDreamUser(await deps.emailLinking.link(principalOf(request).userId, request.body))),
  );

  app.delete(
    '/v1/auth/email-link',
    {
      config: { access: 'user' },
      schema: {
        tags,
        summary: 'Remove the email and password (only while a WeChat identity remains)',
        security,
        response: { 200: Ok(DreamUser) },
      },
    },
    async (request) => ok(toDreamUser(await deps.emailLinking.unlink(principalOf(request).userId))),
  );
}

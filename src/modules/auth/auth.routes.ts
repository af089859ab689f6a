import type { FastifyRequest } from 'fastify';
import type { Config } from '#core/config.ts';
import { AppError } from '#core/errors.ts';
import { langOf, message } from '#core/i18n.ts';
import type { App } from '#core/http/route-config.ts';
import { toPublicUser } from '#modules/users/users.schemas.ts';
import {
  LoginBody,
  LoginStatusQuery,
  LoginStatusResponse,
  MessageResponse,
  RefreshBody,
  RegisterBody,
  ResetPasswordBody,
  SendCodeBody,
  SessionResponse,
} from './auth.schemas.ts';
import type { AuthService, SignedIn } from './auth.service.ts';
import { clearSessionCookies, readRefreshCookie, setSessionCookies } from './session-cookies.ts';
import type { ClientInfo, TokenService } from './token.service.ts';
import { principalOf } from '#core/http/principal.ts';

export function clientOf(request: FastifyRequest): ClientInfo {
  return { ip: request.ip, userAgent: request.headers['user-agent'] };
}

export function sessionBody({ user, tokens }: SignedIn) {
  return {
    access_token: tokens.accessToken,
    token_type: 'Bearer' as const,
    expires_in: tokens.expiresIn,
    refresh_token: tokens.refreshToken,
    user: toPublicUser(user),
  };
}

/** Seed 001 §1 and its login-status section, under /api/auth. */
export function registerAuthRoutes(app: App, deps: { auth: AuthService; tokens: TokenService; config: Config }): void {
  const { auth, tokens, config } = deps;
  const tags = ['auth'];

  app.post(
    '/api/auth/send-code',
    {
      config: { access: 'public' },
      schema: {
        tags,
        summary: 'Send a sign-up code (unregistered emails only)',
        body: SendCodeBody,
        response: { 200: MessageResponse },
      },
    },
    async (request) => {
      await auth.sendRegisterCode(request.body.email, clientOf(request), langOf(request));
      return { message: message(langOf(request), 'CODE_SENT') };
    },
  );

  app.post(
    '/api/auth/register',
    {
      config: { access: 'public' },
      schema: {
        tags,
        summary: 'Create an account with the emailed code',
        body: RegisterBody,
        response: { 200: SessionResponse },
      },
    },
    async (request, reply) => {
      const signedIn = await auth.register(request.body, clientOf(request));
      setSessionCookies(reply, signedIn.tokens, config);
      return sessionBody(signedIn);
    },
  );

  app.post(
    '/api/auth/login',
    {
      config: { access: 'public' },
      schema: {
        tags,
        summary: 'Sign in; a captcha is required after repeated failures',
        body: LoginBody,
        response: { 200: SessionResponse },
      },
    },
    async (request, reply) => {
      const signedIn = await auth.login(request.body, clientOf(request));
      setSessionCookies(reply, signedIn.tokens, config);
      return sessionBody(signedIn);
    },
  );

  app.get(
    '/api/auth/login-status',
    {
      config: { access: 'public' },
      schema: {
        tags,
        summary: 'Captcha and lock state for an email (or this IP)',
        querystring: LoginStatusQuery,
        response: { 200: LoginStatusResponse },
      },
    },
    (request) => auth.loginStatus(request.query.email, request.ip),
  );

  app.post(
    '/api/auth/send-reset-code',
    {
      config: { access: 'public' },
      schema: {
        tags,
        summary: 'Send a password reset code (registered emails only)',
        body: SendCodeBody,
        response: { 200: MessageResponse },
      },
    },
    async (request) => {
      await auth.sendResetCode(request.body.email, clientOf(request), langOf(request));
      return { message: message(langOf(request), 'CODE_SENT') };
    },
  );

  app.post(
    '/api/auth/reset-password',
    {
      config: { access: 'public' },
      schema: {
        tags,
        summary: 'Set a new password with the emailed code; ends every session',
        body: ResetPasswordBody,
        response: { 200: MessageResponse },
      },
    },
    async (request) => {
      await auth.resetPassword(request.body);
      return { message: message(langOf(request), 'PASSWORD_RESET') };
    },
  );

  app.post(
    '/api/auth/refresh',
    {
      config: { access: 'public' },
      schema: {
        tags,
        summary: 'Trade a refresh token (body or cookie) for a new pair; a reused token ends its session',
        body: RefreshBody,
        response: { 200: SessionResponse },
      },
      // The console refreshes with the cookie alone and sends no body at all.
      preValidation: (request, _reply, done) => {
        request.body ??= {};
        done();
      },
    },
    async (request, reply) => {
      const token = request.body.refresh_token ?? readRefreshCookie(request);
      if (!token) throw new AppError('REFRESH_TOKEN_INVALID');
      const issued = await tokens.refresh(token);
      setSessionCookies(reply, issued, config);
      return sessionBody({ user: await auth.userOf(issued.userId), tokens: issued });
    },
  );

  app.post(
    '/api/auth/logout',
    {
      config: { access: 'user' },
      schema: { tags, summary: 'End this session', security: [{ bearer: [] }], response: { 200: MessageResponse } },
    },
    async (request, reply) => {
      await tokens.endSession(principalOf(request).sessionId);
      clearSessionCookies(reply);
      return { message: message(langOf(request), 'LOGGED_OUT') };
    },
  );
}

import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '#core/config.ts';
import type { IssuedTokens } from './token.service.ts';

/** The console's session: the same tokens as the JSON answer, in HttpOnly cookies. */
export const ACCESS_COOKIE = 'tg_access';
export const REFRESH_COOKIE = 'tg_refresh';
const REFRESH_PATH = '/api/auth';

export function setSessionCookies(reply: FastifyReply, tokens: IssuedTokens, config: Config): void {
  const base = { httpOnly: true, sameSite: 'strict', secure: config.isProduction } as const;
  reply.setCookie(ACCESS_COOKIE, tokens.accessToken, { ...base, path: '/', maxAge: tokens.expiresIn });
  reply.setCookie(REFRESH_COOKIE, tokens.refreshToken, {
    ...base,
    path: REFRESH_PATH,
    maxAge: config.REFRESH_TOKEN_TTL,
  });
}

export function clearSessionCookies(reply: FastifyReply): void {
  reply.clearCookie(ACCESS_COOKIE, { path: '/' });
  reply.clearCookie(REFRESH_COOKIE, { path: REFRESH_PATH });
}

/** The token of an `Authorization: Bearer <token>` header. */
export function bearerOf(header: string | undefined): string | undefined {
  return header ? /^Bearer\s+(\S+)\s*$/i.exec(header)?.[1] : undefined;
}

/** A bearer token wins over the cookie. */
export function readAccessToken(request: FastifyRequest): { token: string; via: 'bearer' | 'cookie' } | undefined {
  const header = request.headers.authorization;
  if (header) {
    const token = bearerOf(header);
    return token ? { token, via: 'bearer' } : undefined;
  }
  const cookie = request.cookies[ACCESS_COOKIE];
  return cookie ? { token: cookie, via: 'cookie' } : undefined;
}

export function readRefreshCookie(request: FastifyRequest): string | undefined {
  return request.cookies[REFRESH_COOKIE];
}

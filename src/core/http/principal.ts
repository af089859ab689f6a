import type { FastifyRequest } from 'fastify';
import { AppError } from '#core/errors.ts';
import type { ResolvedKey } from '#modules/keys/keys.service.ts';
import type { Principal } from './route-config.ts';

/**
 * The caller of a route that is not public. The auth guard (modules/auth/auth.guard.ts) has set it
 * or refused the request before any handler runs; a handler reached without one is answered 401.
 */
export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw new AppError('UNAUTHORIZED');
  return request.principal;
}

/** The API key of an `apikey` route's caller. */
export function apiKeyOf(request: FastifyRequest): ResolvedKey {
  const key = principalOf(request).apiKey;
  if (!key) throw new AppError('API_KEY_MISSING');
  return key;
}

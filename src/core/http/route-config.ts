import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyBaseLogger, FastifyInstance, RawServerDefault } from 'fastify';
import type { ResolvedKey } from '#modules/keys/keys.service.ts';
import type { Role } from '#modules/users/users.tables.ts';
import type { ErrorFormat } from './error-handler.ts';

/**
 * Who is calling, resolved by the auth guard from a session (bearer JWT or console cookie), an API key,
 * or the admin key (`X-Admin-Key`, admin routes only: role 'admin', no user, no session).
 */
export interface Principal {
  role: Role;
  /** The user; empty for the admin key, which is nobody's (a route must not need an admin's own id under it). */
  userId: string;
  /** The session, for session callers; empty for API-key and admin-key callers. */
  sessionId: string;
  via: 'bearer' | 'cookie' | 'apikey' | 'adminkey';
  /** The key and what it allows, for API-key callers. */
  apiKey?: ResolvedKey;
}

/**
 * Who may call a route: declared on the route, enforced in one hook (modules/auth/auth.guard.ts).
 * `apikey` routes take a Tollgate API key (`sk-…`) instead of a session; `userOrKey` routes take either
 * (the Dify proxy: a browser signs in, a Dify SDK is given a key).
 */
export type RouteAccess = 'public' | 'user' | 'admin' | 'apikey' | 'userOrKey';

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: RouteAccess;
    errorFormat?: ErrorFormat;
  }
  interface FastifyRequest {
    principal: Principal | null;
  }
}

/** The Fastify instance every module registers its routes on, typed by the TypeBox provider. */
export type App = FastifyInstance<
  RawServerDefault,
  IncomingMessage,
  ServerResponse,
  FastifyBaseLogger,
  TypeBoxTypeProvider
>;

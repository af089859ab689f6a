import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyBaseLogger, FastifyInstance, RawServerDefault } from 'fastify';
import type { Role } from '#modules/users/users.tables.ts';
import type { ErrorFormat } from './error-handler.ts';

/** Who is calling, resolved by the auth guard from a bearer token or the console cookie. */
export interface Principal {
  userId: string;
  role: Role;
  sessionId: string;
  via: 'bearer' | 'cookie';
}

/** Who may call a route: declared on the route, enforced in one hook (modules/auth/auth.guard.ts). */
export type RouteAccess = 'public' | 'user' | 'admin';

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
export type App = FastifyInstance<RawServerDefault, IncomingMessage, ServerResponse, FastifyBaseLogger, TypeBoxTypeProvider>;

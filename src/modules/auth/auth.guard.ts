import { AppError } from '#core/errors.ts';
import type { App } from '#core/http/route-config.ts';
import type { AdminKeyGuard } from '#modules/admin/admin-key.ts';
import { API_KEY_PREFIX } from '#modules/keys/key-secret.ts';
import type { KeysService } from '#modules/keys/keys.service.ts';
import { bearerOf, readAccessToken } from './session-cookies.ts';
import type { TokenService } from './token.service.ts';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * The one place access is enforced. Each route declares `config.access`; every route under /api
 * must declare it (checked at start-up in app.ts). A cookie session may change state only with an
 * X-Requested-With header, which no cross-site form can send.
 *
 * On an admin route, an `X-Admin-Key` header is the credential, whatever else is sent: the right key
 * is the admin (principal `via: 'adminkey'`), a wrong one 401, and without a configured ADMIN_API_KEY
 * the header is refused (403), never ignored in favour of a session (docs/admin.md). A browser never
 * sends it by itself, so the cookie rule does not apply to it. Other routes ignore the header.
 */
export function registerAuthGuard(app: App, tokens: TokenService, keys: KeysService, adminKey: AdminKeyGuard): void {
  app.decorateRequest('principal', null);
  app.addHook('onRequest', async (request) => {
    const access = request.routeOptions.config.access ?? 'public';
    if (access === 'public') return;
    const presentedAdminKey = request.headers['x-admin-key'];
    if (access === 'admin' && presentedAdminKey !== undefined) {
      // A repeated header arrives as an array: refused like a wrong key.
      const key = typeof presentedAdminKey === 'string' ? presentedAdminKey : '';
      request.principal = await adminKey.authenticate(key, request.ip);
      return;
    }
    const secret = access === 'apikey' || access === 'userOrKey' ? bearerOf(request.headers.authorization) : undefined;
    if (access === 'apikey' || (access === 'userOrKey' && secret?.startsWith(API_KEY_PREFIX))) {
      if (!secret) throw new AppError('API_KEY_MISSING');
      const apiKey = await keys.authenticate(secret, request.ip);
      request.principal = { userId: apiKey.userId, role: apiKey.role, sessionId: '', via: 'apikey', apiKey };
      return;
    }
    const credentials = readAccessToken(request);
    if (!credentials) throw new AppError('UNAUTHORIZED');
    if (credentials.via === 'cookie' && !SAFE_METHODS.has(request.method) && !request.headers['x-requested-with']) {
      throw new AppError('CSRF_HEADER_REQUIRED');
    }
    request.principal = await tokens.authenticate(credentials.token, credentials.via);
    if (access === 'admin' && request.principal.role !== 'admin') throw new AppError('FORBIDDEN');
  });
}

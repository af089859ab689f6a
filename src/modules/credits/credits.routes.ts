import { Paged, PageQuery } from '#core/http/pagination.ts';
import type { App } from '#core/http/route-config.ts';
import { newId } from '#core/ids.ts';
import { AppError } from '#core/errors.ts';
import type { UsersService } from '#modules/users/users.service.ts';
import {
  AdjustBody,
  AdjustHeaders,
  AdjustResponse,
  BalanceResponse,
  LedgerItem,
  toLedgerItem,
  UserIdParams,
} from './credits.schemas.ts';
import type { CreditsService } from './credits.service.ts';
import { principalOf } from '#core/http/principal.ts';
import { auditDetail } from '#modules/admin/audit.ts';

/** Seed 001 §2 for users; the admin's adjustment and ledger view under /api/admin. */
export function registerCreditsRoutes(app: App, deps: { credits: CreditsService; users: UsersService }): void {
  const { credits, users } = deps;
  const security = [{ bearer: [] }];

  app.get(
    '/api/credits/balance',
    {
      config: { access: 'user' },
      schema: { tags: ['credits'], security, summary: 'The credit balance', response: { 200: BalanceResponse } },
    },
    async (request) => {
      const account = await credits.account(principalOf(request).userId);
      return { credits: account.balance, held: account.held, available: account.available };
    },
  );

  app.get(
    '/api/credits/history',
    {
      config: { access: 'user' },
      schema: {
        tags: ['credits'],
        security,
        summary: 'Credit movements, newest first',
        querystring: PageQuery,
        response: { 200: Paged(LedgerItem) },
      },
    },
    async (request) => {
      const { page, limit } = request.query;
      const { rows, total } = await credits.history(principalOf(request).userId, page, limit);
      return { items: rows.map(toLedgerItem), total, page, limit };
    },
  );

  app.post(
    '/api/admin/users/:id/credits',
    {
      config: { access: 'admin' },
      schema: {
        tags: ['admin'],
        security,
        summary: 'Add or take credits (admin_adjust). Send an Idempotency-Key header to make a retry safe.',
        params: UserIdParams,
        headers: AdjustHeaders,
        body: AdjustBody,
        response: { 200: AdjustResponse },
      },
    },
    async (request) => {
      // A deleted account's ledger is kept, never moved again.
      const user = await users.requireLiveAccount(request.params.id);
      const idempotencyKey = `admin:${user.id}:${request.headers['idempotency-key'] ?? newId()}`;
      const { amount, reason } = request.body;
      const result = await credits.grant(user.id, amount, {
        kind: 'admin_adjust',
        reason,
        // Who adjusted: the admin's id, or `adminkey` (the admin key is nobody's account).
        reference: principalOf(request).userId || 'adminkey',
        idempotencyKey,
      });
      // A replay (same Idempotency-Key) moved nothing: before and after are the same balance.
      const before = result.applied ? result.balance - amount : result.balance;
      auditDetail(request, {
        targetType: 'user',
        targetId: user.id,
        before: { balance: before },
        after: { balance: result.balance, amount: result.applied ? amount : 0, reason },
      });
      return { applied: result.applied, balance: result.balance, entry: toLedgerItem(result.entry) };
    },
  );

  app.get(
    '/api/admin/users/:id/credits/history',
    {
      config: { access: 'admin' },
      schema: {
        tags: ['admin'],
        security,
        summary: "Any user's ledger",
        params: UserIdParams,
        querystring: PageQuery,
        response: { 200: Paged(LedgerItem) },
      },
    },
    async (request) => {
      const user = await users.findById(request.params.id);
      if (!user) throw new AppError('NOT_FOUND');
      const { page, limit } = request.query;
      const { rows, total } = await credits.history(user.id, page, limit);
      return { items: rows.map(toLedgerItem), total, page, limit };
    },
  );
}

import { Type } from 'typebox';
import { CursorPaged, keysetPage, Paging } from '#core/http/pagination.ts';
import { principalOf } from '#core/http/principal.ts';
import type { App } from '#core/http/route-config.ts';
import { AppError } from '#core/errors.ts';
import { BalanceResponse, LedgerItem, toLedgerItem } from '#modules/credits/credits.schemas.ts';
import type { CreditsService } from '#modules/credits/credits.service.ts';
import type { LedgerKind } from '#modules/credits/credits.tables.ts';
import { CreatedOrderSchema, PackSchema, RechargeBody, toCreated, toPack } from '#modules/orders/orders.schemas.ts';
import type { OrdersService } from '#modules/orders/orders.service.ts';
import { Ok, ok } from './envelope.ts';

const KINDS: LedgerKind[] = [
  'signup_bonus',
  'checkin',
  'redeem',
  'admin_adjust',
  'usage',
  'refund',
  'recharge',
  'plan',
];

const TransactionsQuery = Type.Object(
  {
    page: Paging.page(),
    limit: Paging.limit({ default: 20 }),
    cursor: Type.Optional(Paging.cursor()),
    type: Type.Optional(Type.Union(KINDS.map((kind) => Type.Literal(kind)))),
  },
  { additionalProperties: false },
);

/**
 * Seed 003's points are Tollgate's credits: one balance and one ledger per user, whatever the surface
 * (the same as /api/credits/*). "Points deduction (automatic)" is the paid-call path; recharge is an
 * order for a credit pack or an amount within bounds (docs/payments.md). docs/seed-003.md.
 */
export function registerDreamPointsRoutes(app: App, deps: { credits: CreditsService; orders: OrdersService }): void {
  const { credits, orders } = deps;
  const security = [{ bearer: [] }];

  app.get(
    '/v1/points/packs',
    {
      config: { access: 'public' },
      schema: { tags: ['points'], summary: 'The credit packs on sale', response: { 200: Ok(Type.Array(PackSchema)) } },
    },
    () => ok(orders.packs().map(toPack)),
  );

  app.post(
    '/v1/points/recharge',
    {
      config: { access: 'user' },
      schema: {
        tags: ['points'],
        security,
        summary: 'Buy points: a credit pack (packId) or an amount in CNY fen within the configured bounds',
        description:
          'The price comes from the server (the pack, or the amount at RECHARGE_CREDITS_PER_CNY). The channel defaults to wechat_jsapi. 503 PAYMENTS_NOT_CONFIGURED when no payment provider is set up.',
        body: RechargeBody,
        response: { 200: Ok(CreatedOrderSchema) },
      },
    },
    async (request) => {
      const { packId, amount, channel, successUrl, cancelUrl } = request.body;
      if ((packId === undefined) === (amount === undefined))
        throw new AppError('VALIDATION_FAILED', { detail: 'send either packId or amount' });
      const created = await orders.createOrder({
        userId: principalOf(request).userId,
        item: packId !== undefined ? { kind: 'credits', packId } : { kind: 'credits', amount },
        channel: channel ?? orders.defaultChannel(['wechat_jsapi']),
        successUrl,
        cancelUrl,
      });
      return ok(toCreated(created.order, created.checkout));
    },
  );

  app.get(
    '/v1/points/balance',
    {
      config: { access: 'user' },
      schema: {
        tags: ['points'],
        security,
        summary: 'My points (credits): balance, held for calls in flight, available',
        response: { 200: Ok(Type.Intersect([Type.Object({ balance: Type.Integer() }), BalanceResponse])) },
      },
    },
    async (request) => {
      const account = await credits.account(principalOf(request).userId);
      return ok({
        balance: account.balance,
        credits: account.balance,
        held: account.held,
        available: account.available,
      });
    },
  );

  app.get(
    '/v1/points/transactions',
    {
      config: { access: 'user' },
      schema: {
        tags: ['points'],
        security,
        summary: 'My points movements, newest first (page or cursor; type filter)',
        querystring: TransactionsQuery,
        response: { 200: Ok(CursorPaged(LedgerItem)) },
      },
    },
    async (request) => {
      const { page, limit, cursor, type } = request.query;
      const userId = principalOf(request).userId;
      return ok(
        await keysetPage(
          { page, limit, cursor },
          (before, _offset, n) => credits.history(userId, page, n, { kind: type, before }),
          (row) => Number(row.created_at),
          (rows) => rows.map(toLedgerItem),
        ),
      );
    },
  );
}

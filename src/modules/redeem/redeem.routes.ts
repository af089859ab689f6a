import { langOf, message as say } from '#core/i18n.ts';
import { PageQuery, Paged } from '#core/http/pagination.ts';
import type { App } from '#core/http/route-config.ts';
import {
  CodeFilterQuery,
  CreateBatchBody,
  CreateBatchResponse,
  DisabledResponse,
  IdParams,
  ListCodesQuery,
  RedeemBatchItem,
  RedeemBody,
  RedeemCodeItem,
  RedeemResponse,
} from './redeem.schemas.ts';
import type { RedeemService } from './redeem.service.ts';
import { principalOf } from '#core/http/principal.ts';
import { auditDetail } from '#modules/admin/audit.ts';

export function registerRedeemRoutes(app: App, redeem: RedeemService): void {
  const security = [{ bearer: [] }];
  const admin = { config: { access: 'admin' as const } };
  const tags = ['admin'];

  app.post(
    '/api/credits/redeem',
    {
      config: { access: 'user' },
      schema: {
        tags: ['credits'],
        security,
        summary: 'Turn a redeem code into credits',
        body: RedeemBody,
        response: { 200: RedeemResponse },
      },
    },
    async (request) => {
      const { credits, balance, plan } = await redeem.redeem(
        principalOf(request).userId,
        request.body.code,
        request.ip,
      );
      const message = say(langOf(request), plan ? 'REDEEMED_PLAN' : 'REDEEMED', { credits, plan: plan?.name ?? '' });
      // A code without a plan answers as seed 001 does (no `plan` field).
      return { success: true, creditsAdded: credits, totalCredits: balance, message, ...(plan ? { plan } : {}) };
    },
  );

  app.post(
    '/api/admin/redeem-codes',
    {
      ...admin,
      schema: {
        tags,
        security,
        summary: 'Create a batch of redeem codes',
        body: CreateBatchBody,
        response: { 200: CreateBatchResponse },
      },
    },
    async (request) => {
      const { count, credits, maxUses, expiresAt, note, planId, planDays } = request.body;
      const batch = {
        count,
        credits,
        planId: planId ?? null,
        planDays: planDays ?? null,
        maxUses: maxUses ?? 1,
        expiresAt: expiresAt ? Date.parse(expiresAt) : null,
        note: note ?? null,
      };
      // The admin key is nobody's account: such a batch has no creator (the audit log says "admin key").
      const created = await redeem.createBatch(batch, principalOf(request).userId || null);
      // The codes themselves stay out of the log: they are worth money to whoever reads them.
      auditDetail(request, { targetType: 'redeem_batch', targetId: created.batchId, after: batch });
      return created;
    },
  );

  app.get(
    '/api/admin/redeem-codes',
    {
      ...admin,
      schema: {
        tags,
        security,
        summary: 'List redeem codes, filtered by batch and state',
        querystring: ListCodesQuery,
        response: { 200: Paged(RedeemCodeItem) },
      },
    },
    async (request) => {
      const { page, limit, batchId, state } = request.query;
      const { items, total } = await redeem.list({ batchId, state }, page, limit);
      return { items, total, page, limit };
    },
  );

  app.get(
    '/api/admin/redeem-batches',
    {
      ...admin,
      schema: {
        tags,
        security,
        summary: 'List the batches of redeem codes, newest first, with how their codes were used',
        querystring: PageQuery,
        response: { 200: Paged(RedeemBatchItem) },
      },
    },
    async (request) => {
      const { page, limit } = request.query;
      return { ...(await redeem.batches(page, limit)), page, limit };
    },
  );

  app.get(
    '/api/admin/redeem-codes/export',
    {
      ...admin,
      schema: {
        tags,
        security,
        summary: 'The filtered codes as CSV',
        querystring: CodeFilterQuery,
        produces: ['text/csv'],
      },
    },
    async (request, reply) => {
      const csv = await redeem.exportCsv(request.query);
      reply
        .header('content-type', 'text/csv; charset=utf-8')
        .header('content-disposition', 'attachment; filename="redeem-codes.csv"');
      return csv;
    },
  );

  app.post(
    '/api/admin/redeem-codes/:id/disable',
    {
      ...admin,
      schema: { tags, security, summary: 'Disable one code', params: IdParams, response: { 200: DisabledResponse } },
    },
    async (request) => {
      auditDetail(request, { targetType: 'redeem_code', targetId: request.params.id });
      return { disabled: await redeem.disableCode(request.params.id) };
    },
  );

  app.post(
    '/api/admin/redeem-batches/:id/disable',
    {
      ...admin,
      schema: {
        tags,
        security,
        summary: 'Disable every code of a batch',
        params: IdParams,
        response: { 200: DisabledResponse },
      },
    },
    async (request) => {
      const disabled = await redeem.disableBatch(request.params.id);
      auditDetail(request, { targetType: 'redeem_batch', targetId: request.params.id, after: { disabled } });
      return { disabled };
    },
  );
}

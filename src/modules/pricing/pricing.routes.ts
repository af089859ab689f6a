import { Type } from 'typebox';
import { AppError } from '#core/errors.ts';
import type { App } from '#core/http/route-config.ts';
import { auditDetail } from '#modules/admin/audit.ts';
import { DEFAULT_MODEL, type PricingService } from './pricing.service.ts';

const Credits = Type.Number({ minimum: 0, maximum: 1_000_000, description: 'Credits; kept to six decimals' });
const MaxOutputTokens = Type.Union([Type.Integer({ minimum: 1, maximum: 10_000_000 }), Type.Null()], {
  description:
    'The most output tokens one answer of the model can have; null or absent: the shipped default of the model, else that of `*`',
});

const PriceBody = Type.Object(
  {
    input: Type.Optional(Credits),
    output: Type.Optional(Credits),
    perRequest: Type.Optional(Credits),
    perImage: Type.Optional(Credits),
    maxOutputTokens: Type.Optional(MaxOutputTokens),
  },
  {
    additionalProperties: false,
    minProperties: 1,
    description:
      'Credits per 1,000 input/output tokens, per request and per image (absent: 0), and the most output tokens of one answer',
  },
);

const PriceEntry = Type.Object({
  model: Type.String(),
  input: Type.Number(),
  output: Type.Number(),
  perRequest: Type.Number(),
  perImage: Type.Number(),
  maxOutputTokens: Type.Union([Type.Integer(), Type.Null()], {
    description: "The maximum that applies (the admin's, else the default); null: not known",
  }),
  source: Type.Union([Type.Literal('admin'), Type.Literal('default')]),
});

const ModelParams = Type.Object(
  {
    model: Type.String({
      minLength: 1,
      maxLength: 128,
      pattern: '^[\\w.:*@+/-]+$',
      description: 'A model name as clients send it (`*` = the default for unpriced models); URL-encode a `/`',
    }),
  },
  { additionalProperties: false },
);

/** `/api/admin/pricing`: what each model costs. The model `*` is the price of models without one. */
export function registerPricingRoutes(app: App, pricing: PricingService): void {
  const tags = ['admin'];
  const security = [{ bearer: [] }];
  const config = { access: 'admin' as const };

  app.get(
    '/api/admin/pricing',
    {
      config,
      schema: {
        tags,
        security,
        summary: 'Every price: admin-set and shipped defaults',
        response: { 200: Type.Object({ items: Type.Array(PriceEntry) }) },
      },
    },
    () => ({ items: pricing.list() }),
  );

  app.put(
    '/api/admin/pricing/:model',
    {
      config,
      schema: {
        tags,
        security,
        summary: `Set a model's price (${DEFAULT_MODEL} = the default for unpriced models)`,
        params: ModelParams,
        body: PriceBody,
        response: { 200: PriceEntry },
      },
    },
    async (request) => {
      const { model } = request.params;
      const { input = 0, output = 0, perRequest = 0, perImage = 0, maxOutputTokens = null } = request.body;
      const before = pricing.list().find((entry) => entry.model === model) ?? null;
      const after = await pricing.set(model, { input, output, perRequest, perImage, maxOutputTokens });
      auditDetail(request, { targetType: 'price', targetId: model, before, after });
      return after;
    },
  );

  app.delete(
    '/api/admin/pricing/:model',
    {
      config,
      schema: {
        tags,
        security,
        summary: 'Remove an admin price (the shipped default, if any, applies again)',
        params: ModelParams,
        response: { 204: Type.Null() },
      },
    },
    async (request, reply) => {
      const before = pricing.list().find((entry) => entry.model === request.params.model) ?? null;
      if (!(await pricing.remove(request.params.model))) throw new AppError('NOT_FOUND');
      const after = pricing.list().find((entry) => entry.model === request.params.model) ?? null;
      auditDetail(request, { targetType: 'price', targetId: request.params.model, before, after });
      return reply.status(204).send(null);
    },
  );
}

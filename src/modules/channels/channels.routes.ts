import { Type } from 'typebox';
import type { App } from '#core/http/route-config.ts';
import { AppError } from '#core/errors.ts';
import { auditDetail } from '#modules/admin/audit.ts';
import { ChannelsService, type Channel, type ChannelInput } from './channels.service.ts';
import { DIFY_APP_MODES, DIFY_PRICED_ENDPOINTS, type DifyApp, type DifyAppMode, type DifyPrices } from './dify-app.ts';

const Model = Type.String({ minLength: 1, maxLength: 128 });
const Fields = {
  name: Type.String({ minLength: 1, maxLength: 64 }),
  baseUrl: Type.String({ pattern: '^https?://[^\\s]+$', maxLength: 512, description: 'Up to and including /v1' }),
  apiKey: Type.String({ minLength: 1, maxLength: 1024, description: 'Stored encrypted; never returned' }),
  models: Type.Array(Model, { minItems: 1, maxItems: 500, uniqueItems: true, description: '`*` serves every model' }),
  modelMap: Type.Record(Type.String(), Model, { description: 'Name asked for → name sent upstream' }),
  priority: Type.Integer({ minimum: -1000, maximum: 1000 }),
  weight: Type.Integer({ minimum: 0, maximum: 1000 }),
  enabled: Type.Boolean(),
  kind: Type.Union([Type.Literal('openai'), Type.Literal('dify')], {
    description: '`dify`: one Dify app, its app key as apiKey',
  }),
  appMode: Type.Union(
    DIFY_APP_MODES.map((m) => Type.Literal(m)),
    { description: 'Dify apps: the mode of the app' },
  ),
  prices: Type.Object(
    {
      input: Type.Optional(Type.Number({ minimum: 0, maximum: 1_000_000 })),
      output: Type.Optional(Type.Number({ minimum: 0, maximum: 1_000_000 })),
      endpoints: Type.Optional(
        Type.Object(
          Object.fromEntries(
            DIFY_PRICED_ENDPOINTS.map((e) => [e, Type.Optional(Type.Number({ minimum: 0, maximum: 1_000_000 }))]),
          ),
          { additionalProperties: false },
        ),
      ),
      maxCallCost: Type.Optional(
        Type.Integer({
          minimum: 1,
          maximum: 1_000_000,
          description:
            'Whole credits held for one call (default DIFY_MAX_CALL_COST); a call that costs more is charged in full and its overrun recorded',
        }),
      ),
    },
    {
      additionalProperties: false,
      description:
        'Dify apps: credits per 1,000 input/output tokens, a base price per endpoint call, and the most one call holds',
    },
  ),
};

const PricesView = Type.Object({
  input: Type.Number(),
  output: Type.Number(),
  endpoints: Type.Record(Type.String(), Type.Number()),
  maxCallCost: Type.Integer(),
});

const CreateBody = Type.Object(
  {
    name: Fields.name,
    baseUrl: Fields.baseUrl,
    apiKey: Fields.apiKey,
    kind: Type.Optional(Fields.kind),
    models: Type.Optional(Fields.models),
    modelMap: Type.Optional(Fields.modelMap),
    priority: Type.Optional(Fields.priority),
    weight: Type.Optional(Fields.weight),
    enabled: Type.Optional(Fields.enabled),
    appMode: Type.Optional(Fields.appMode),
    prices: Type.Optional(Fields.prices),
  },
  { additionalProperties: false },
);

const UpdateBody = Type.Object(
  {
    name: Type.Optional(Fields.name),
    baseUrl: Type.Optional(Fields.baseUrl),
    apiKey: Type.Optional(Fields.apiKey),
    models: Type.Optional(Fields.models),
    modelMap: Type.Optional(Fields.modelMap),
    priority: Type.Optional(Fields.priority),
    weight: Type.Optional(Fields.weight),
    enabled: Type.Optional(Fields.enabled),
    appMode: Type.Optional(Fields.appMode),
    prices: Type.Optional(Fields.prices),
  },
  { additionalProperties: false, minProperties: 1 },
);

const ChannelView = Type.Object({
  id: Type.String(),
  name: Type.String(),
  kind: Type.String(),
  baseUrl: Type.String(),
  apiKeyPreview: Type.String(),
  models: Type.Array(Type.String()),
  modelMap: Type.Record(Type.String(), Type.String()),
  priority: Type.Integer(),
  weight: Type.Integer(),
  enabled: Type.Boolean(),
  autoDisabled: Type.Boolean(),
  consecutiveFailures: Type.Integer(),
  lastError: Type.Union([Type.String(), Type.Null()]),
  appMode: Type.Union([Type.String(), Type.Null()]),
  prices: Type.Union([PricesView, Type.Null()]),
  createdAt: Type.String(),
  updatedAt: Type.String(),
});

const TestResult = Type.Object({
  ok: Type.Boolean(),
  status: Type.Union([Type.Integer(), Type.Null()]),
  latencyMs: Type.Integer(),
  error: Type.Union([Type.String(), Type.Null()]),
});

const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 36 }) }, { additionalProperties: false });

function toView(c: Channel) {
  return {
    id: c.id,
    name: c.name,
    kind: c.kind,
    baseUrl: c.baseUrl,
    apiKeyPreview: ChannelsService.preview(c.secret),
    models: [...c.models],
    modelMap: { ...c.modelMap },
    priority: c.priority,
    weight: c.weight,
    enabled: c.enabled,
    autoDisabled: c.autoDisabled,
    consecutiveFailures: c.consecutiveFailures,
    lastError: c.lastError,
    appMode: c.dify?.mode ?? null,
    prices: c.dify ? { ...c.dify.prices, endpoints: { ...c.dify.prices.endpoints } } : null,
    createdAt: new Date(c.createdAt).toISOString(),
    updatedAt: new Date(c.updatedAt).toISOString(),
  };
}

type PricesBody = {
  input?: number;
  output?: number;
  endpoints?: Partial<Record<string, number>>;
  maxCallCost?: number;
};
type Body = Partial<{
  name: string;
  baseUrl: string;
  apiKey: string;
  models: string[];
  modelMap: Record<string, string>;
  priority: number;
  weight: number;
  enabled: boolean;
  appMode: DifyAppMode;
  prices: PricesBody;
}>;

/** A Dify app's prices: what the body names, over what it had (or the configured defaults). */
function mergePrices(base: DifyPrices, body: PricesBody | undefined): DifyPrices {
  const endpoints = { ...base.endpoints };
  for (const [name, price] of Object.entries(body?.endpoints ?? {}))
    if (price !== undefined) endpoints[name as keyof DifyPrices['endpoints']] = price;
  return {
    input: body?.input ?? base.input,
    output: body?.output ?? base.output,
    endpoints,
    maxCallCost: body?.maxCallCost ?? base.maxCallCost,
  };
}

function inputOf(body: Body, current: Channel): Partial<ChannelInput> {
  const { apiKey, appMode, prices, ...rest } = body;
  const input: Partial<ChannelInput> = { ...rest, ...(apiKey === undefined ? {} : { secret: apiKey }) };
  if (appMode === undefined && prices === undefined) return input;
  if (!current.dify) throw new AppError('VALIDATION_FAILED', { detail: 'appMode and prices apply to Dify apps only' });
  input.dify = { mode: appMode ?? current.dify.mode, prices: mergePrices(current.dify.prices, prices) };
  return input;
}

/** What a create body makes: an OpenAI-compatible channel (models required) or a Dify app (appMode required). */
function createInput(
  body: Body & { name: string; baseUrl: string; apiKey: string; kind?: 'openai' | 'dify' },
  difyDefaults: DifyPrices,
): ChannelInput {
  const kind = body.kind ?? 'openai';
  let dify: DifyApp | null = null;
  if (kind === 'dify') {
    if (!body.appMode) throw new AppError('VALIDATION_FAILED', { detail: 'appMode is required for a Dify app' });
    dify = { mode: body.appMode, prices: mergePrices(difyDefaults, body.prices) };
  } else {
    if (!body.models) throw new AppError('VALIDATION_FAILED', { detail: 'models is required' });
    if (body.appMode !== undefined || body.prices !== undefined)
      throw new AppError('VALIDATION_FAILED', { detail: 'appMode and prices apply to Dify apps only' });
  }
  return {
    name: body.name,
    kind,
    baseUrl: body.baseUrl,
    secret: body.apiKey,
    models: body.models ?? [],
    modelMap: body.modelMap ?? {},
    priority: body.priority ?? 0,
    weight: body.weight ?? 1,
    enabled: body.enabled ?? true,
    dify,
  };
}

/** `/api/admin/channels`: the upstreams calls are routed to: OpenAI-compatible APIs and Dify apps. */
export function registerChannelRoutes(app: App, channels: ChannelsService, difyDefaults: DifyPrices): void {
  const config = { access: 'admin' as const };
  const tags = ['admin'];
  const security = [{ bearer: [] }];

  app.get(
    '/api/admin/channels',
    {
      config,
      schema: {
        tags,
        security,
        summary: 'Every channel (secrets never shown)',
        response: { 200: Type.Object({ items: Type.Array(ChannelView) }) },
      },
    },
    () => ({
      items: channels.all().map(toView),
    }),
  );

  app.post(
    '/api/admin/channels',
    {
      config,
      schema: {
        tags,
        security,
        summary: 'Add an OpenAI-compatible upstream or a Dify app',
        body: CreateBody,
        response: { 201: ChannelView },
      },
    },
    async (request, reply) => {
      const created = toView(await channels.create(createInput(request.body, difyDefaults)));
      auditDetail(request, { targetType: 'channel', targetId: created.id, after: created });
      return reply.status(201).send(created);
    },
  );

  app.patch(
    '/api/admin/channels/:id',
    {
      config,
      schema: {
        tags,
        security,
        summary: 'Change a channel',
        params: IdParams,
        body: UpdateBody,
        response: { 200: ChannelView },
      },
    },
    async (request) => {
      const current = channels.get(request.params.id);
      if (!current) throw new AppError('NOT_FOUND');
      const after = toView(await channels.update(request.params.id, inputOf(request.body, current)));
      // Views only: a channel's secret never reaches the log (a new one shows as `secretChanged`).
      auditDetail(request, {
        targetType: 'channel',
        targetId: current.id,
        before: toView(current),
        after: { ...after, ...(request.body.apiKey !== undefined ? { secretChanged: true } : {}) },
      });
      return after;
    },
  );

  app.delete(
    '/api/admin/channels/:id',
    {
      config,
      schema: { tags, security, summary: 'Remove a channel', params: IdParams, response: { 204: Type.Null() } },
    },
    async (request, reply) => {
      const current = channels.get(request.params.id);
      await channels.remove(request.params.id);
      auditDetail(request, {
        targetType: 'channel',
        targetId: request.params.id,
        ...(current ? { before: toView(current) } : {}),
      });
      return reply.status(204).send(null);
    },
  );

  app.post(
    '/api/admin/channels/:id/test',
    {
      config,
      schema: {
        tags,
        security,
        summary: "Call the channel's model list now",
        params: IdParams,
        response: { 200: TestResult },
      },
    },
    (request) => {
      auditDetail(request, { targetType: 'channel', targetId: request.params.id });
      return channels.test(request.params.id);
    },
  );
}

import { Type } from 'typebox';
import type { App } from '#core/http/route-config.ts';
import { ChannelsService, type Channel, type ChannelInput } from './channels.service.ts';

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
};

const CreateBody = Type.Object(
  {
    name: Fields.name,
    baseUrl: Fields.baseUrl,
    apiKey: Fields.apiKey,
    models: Fields.models,
    modelMap: Type.Optional(Fields.modelMap),
    priority: Type.Optional(Fields.priority),
    weight: Type.Optional(Fields.weight),
    enabled: Type.Optional(Fields.enabled),
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
    createdAt: new Date(c.createdAt).toISOString(),
    updatedAt: new Date(c.updatedAt).toISOString(),
  };
}

type Body = Partial<{ name: string; baseUrl: string; apiKey: string; models: string[]; modelMap: Record<string, string>; priority: number; weight: number; enabled: boolean }>;

function inputOf(body: Body): Partial<ChannelInput> {
  const { apiKey, ...rest } = body;
  return { ...rest, ...(apiKey === undefined ? {} : { secret: apiKey }) };
}

/** `/api/admin/channels`: the upstreams calls are routed to. */
export function registerChannelRoutes(app: App, channels: ChannelsService): void {
  const config = { access: 'admin' as const };
  const tags = ['admin'];
  const security = [{ bearer: [] }];

  app.get('/api/admin/channels', { config, schema: { tags, security, summary: 'Every channel (secrets never shown)', response: { 200: Type.Object({ items: Type.Array(ChannelView) }) } } }, () => ({
    items: channels.all().map(toView),
  }));

  app.post(
    '/api/admin/channels',
    { config, schema: { tags, security, summary: 'Add an OpenAI-compatible upstream', body: CreateBody, response: { 201: ChannelView } } },
    async (request, reply) => {
      const body = request.body;
      const channel = await channels.create({
        name: body.name,
        kind: 'openai',
        baseUrl: body.baseUrl,
        secret: body.apiKey,
        models: body.models,
        modelMap: body.modelMap ?? {},
        priority: body.priority ?? 0,
        weight: body.weight ?? 1,
        enabled: body.enabled ?? true,
      });
      return reply.status(201).send(toView(channel));
    },
  );

  app.patch(
    '/api/admin/channels/:id',
    { config, schema: { tags, security, summary: 'Change a channel', params: IdParams, body: UpdateBody, response: { 200: ChannelView } } },
    async (request) => toView(await channels.update(request.params.id, inputOf(request.body))),
  );

  app.delete(
    '/api/admin/channels/:id',
    { config, schema: { tags, security, summary: 'Remove a channel', params: IdParams, response: { 204: Type.Null() } } },
    async (request, reply) => {
      await channels.remove(request.params.id);
      return reply.status(204).send(null);
    },
  );

  app.post(
    '/api/admin/channels/:id/test',
    { config, schema: { tags, security, summary: "Call the channel's model list now", params: IdParams, response: { 200: TestResult } } },
    (request) => channels.test(request.params.id),
  );
}

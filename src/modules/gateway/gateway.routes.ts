import { Type } from 'typebox';
import { AppError } from '#core/errors.ts';
import { apiKeyOf } from '#core/http/principal.ts';
import type { App } from '#core/http/route-config.ts';
import { EMBEDDINGS, imagesEndpoint, jsonCall } from '#modules/metering/adapters/openai-json.ts';
import { CHAT, COMPLETIONS, textCall } from '#modules/metering/adapters/openai-text.ts';
import type { OpenAiDeps } from '#modules/metering/adapters/openai.ts';
import { runPaidCall } from '#modules/metering/pipeline.ts';
import type { ChannelsService } from '#modules/channels/channels.service.ts';
import type { ResolvedKey } from '#modules/keys/keys.service.ts';
import type { PricingService } from '#modules/pricing/pricing.service.ts';
import {
  ChatCompletionsSchema,
  CompletionsSchema,
  EmbeddingsSchema,
  ImageGenerationsSchema,
} from './gateway.schemas.ts';

const ModelSchema = Type.Object({
  id: Type.String(),
  object: Type.Literal('model'),
  created: Type.Integer(),
  owned_by: Type.String(),
});

/**
 * The models a key may call: served by a usable channel, priced, and on the key's allow-list (a session,
 * the playground's caller, has none).
 */
export function modelsFor(key: ResolvedKey | null, channels: ChannelsService, pricing: PricingService): string[] {
  const named = new Set(channels.servedModels());
  if (channels.servesAnyModel()) for (const entry of pricing.list()) if (entry.model !== '*') named.add(entry.model);
  return [...named]
    .filter((model) => pricing.priceOf(model) && (!key?.allowedModels || key.allowedModels.has(model)))
    .sort();
}

/** The OpenAI-compatible surface (seed 004), authenticated by Tollgate API keys, errors in OpenAI's shape. */
export function registerGatewayRoutes(app: App, deps: OpenAiDeps & { bodyLimit: number; startedAt: number }): void {
  const config = { access: 'apikey' as const, errorFormat: 'openai' as const };
  const tags = ['OpenAI-compatible'];
  const security = [{ bearer: [] }];
  const post = { config, bodyLimit: deps.bodyLimit, schema: { tags, security } };

  for (const url of ['/v1/chat/completions', '/api/v1/chat/completions']) {
    app.post(
      url,
      {
        ...post,
        schema: { ...post.schema, summary: 'Chat completions, streamed or not', body: ChatCompletionsSchema },
      },
      (request, reply) => runPaidCall(deps, textCall(deps, CHAT, request.id, request.body, apiKeyOf(request)), reply),
    );
  }
  app.post(
    '/v1/completions',
    { ...post, schema: { ...post.schema, summary: 'Legacy text completions', body: CompletionsSchema } },
    (request, reply) =>
      runPaidCall(deps, textCall(deps, COMPLETIONS, request.id, request.body, apiKeyOf(request)), reply),
  );
  app.post(
    '/v1/embeddings',
    { ...post, schema: { ...post.schema, summary: 'Embeddings (float or base64)', body: EmbeddingsSchema } },
    (request, reply) =>
      runPaidCall(deps, jsonCall(deps, EMBEDDINGS, request.id, request.body, apiKeyOf(request)), reply),
  );
  const images = imagesEndpoint(deps.defaultMaxOutput);
  app.post(
    '/v1/images/generations',
    { ...post, schema: { ...post.schema, summary: 'Image generation', body: ImageGenerationsSchema } },
    (request, reply) => runPaidCall(deps, jsonCall(deps, images, request.id, request.body, apiKeyOf(request)), reply),
  );

  const created = Math.floor(deps.startedAt / 1000);
  for (const url of ['/v1/models', '/api/v1/models']) {
    app.get(
      url,
      {
        config,
        schema: {
          tags,
          security,
          summary: 'The models this key may use',
          response: { 200: Type.Object({ object: Type.Literal('list'), data: Type.Array(ModelSchema) }) },
        },
      },
      (request) => ({
        object: 'list' as const,
        data: modelsFor(apiKeyOf(request), deps.channels, deps.pricing).map((id) => ({
          id,
          object: 'model' as const,
          created,
          owned_by: 'tollgate',
        })),
      }),
    );
  }
  for (const url of ['/v1/models/:model', '/api/v1/models/:model']) {
    app.get(
      url,
      {
        config,
        schema: {
          tags,
          security,
          summary: 'One model, if this key may use it',
          params: Type.Object({ model: Type.String() }),
          response: { 200: ModelSchema },
        },
      },
      (request) => {
        const model = request.params.model;
        if (!modelsFor(apiKeyOf(request), deps.channels, deps.pricing).includes(model))
          throw new AppError('MODEL_NOT_FOUND', { model });
        return { id: model, object: 'model' as const, created, owned_by: 'tollgate' };
      },
    );
  }
}

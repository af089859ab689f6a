import { Type } from 'typebox';
import { principalOf } from '#core/http/principal.ts';
import type { App } from '#core/http/route-config.ts';
import { ChatCompletionsSchema } from '#modules/gateway/gateway.schemas.ts';
import { modelsFor } from '#modules/gateway/gateway.routes.ts';
import type { OpenAiDeps } from '#modules/metering/adapters/openai.ts';
import { runPaidCall } from '#modules/metering/pipeline.ts';
import { allowsModel } from '#modules/plans/plans.model.ts';
import { playgroundCall } from './playground-call.ts';

const PlaygroundModel = Type.Object({
  model: Type.String(),
  input: Type.Number({ description: 'Credits per 1,000 input tokens' }),
  output: Type.Number({ description: 'Credits per 1,000 output tokens' }),
  perRequest: Type.Number({ description: 'Credits per call' }),
  maxOutputTokens: Type.Union([Type.Integer(), Type.Null()], {
    description: 'The most output of one answer; null: not known',
  }),
});

/**
 * The console's playground (docs/console.md): the models a signed-in user may chat with, and a chat
 * completion paid through their session exactly as POST /v1/chat/completions is through a key.
 */
export function registerPlaygroundRoutes(app: App, deps: OpenAiDeps & { bodyLimit: number }): void {
  const config = { access: 'user' as const };
  const tags = ['playground'];
  const security = [{ bearer: [] }];

  app.get(
    '/api/playground/models',
    {
      config,
      schema: {
        tags,
        security,
        summary: 'The models you may chat with (served, priced, allowed by your plan) and their prices',
        response: { 200: Type.Object({ items: Type.Array(PlaygroundModel) }) },
      },
    },
    async (request) => {
      const plan = await deps.plans?.activePlan(principalOf(request).userId);
      const items = modelsFor(null, deps.channels, deps.pricing)
        .filter((model) => !plan || allowsModel(plan.terms, model))
        .flatMap((model) => {
          const price = deps.pricing.priceOf(model);
          return price
            ? [
                {
                  model,
                  input: price.input,
                  output: price.output,
                  perRequest: price.perRequest,
                  maxOutputTokens: price.maxOutputTokens,
                },
              ]
            : [];
        });
      return { items };
    },
  );

  app.post(
    '/api/playground/chat/completions',
    {
      config,
      bodyLimit: deps.bodyLimit,
      schema: {
        tags,
        security,
        summary: 'Chat completions paid through your session, streamed or not (the OpenAI body and answer)',
        description:
          'The same paid call as POST /v1/chat/completions, recorded with no key. A stream ends with an ' +
          '`event: tollgate.bill` whose data gives prompt_tokens, completion_tokens, credits and usage_source.',
        body: ChatCompletionsSchema,
      },
    },
    (request, reply) => {
      const { userId, role } = principalOf(request);
      return runPaidCall(deps, playgroundCall(deps, request.id, request.body, { userId, role }), reply);
    },
  );
}

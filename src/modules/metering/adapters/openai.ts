import { AppError } from '#core/errors.ts';
import { encodeJson, type UpstreamAbort } from '#core/upstream.ts';
import type { Channel, ChannelsService } from '#modules/channels/channels.service.ts';
import type { ResolvedKey } from '#modules/keys/keys.service.ts';
import type { ModelPrice } from '#modules/pricing/price.ts';
import type { Role } from '#modules/users/users.tables.ts';
import type { AdmissionDeps } from '../admission.ts';
import type { CallContext } from '../call.ts';
import { sendWithFailover, type FailoverOptions } from '../failover.ts';
import type { SentCall } from '../paid-call.ts';

/** What the OpenAI-compatible kinds need besides admission: the channels that serve models. */
export interface OpenAiDeps extends AdmissionDeps {
  channels: ChannelsService;
  failover: FailoverOptions;
  /** The most output tokens assumed for a model whose price says none (sent to the upstream as its limit). */
  defaultMaxOutput: number;
}

/** A call to an OpenAI-compatible endpoint: its name in the usage records and its path under a channel's base URL. */
export interface OpenAiEndpoint {
  name: string;
  path: string;
}

/** A signed-in user calling through their console session (the playground): no key, the user's own limits. */
export interface SessionPayer {
  userId: string;
  role: Role;
}

/** Who pays for a call: an API key (and so its owner), or a signed-in user's session. */
export type Payer = ResolvedKey | SessionPayer;

/** The key a call is made with, or null for a session's call. */
export function keyOf(payer: Payer): ResolvedKey | null {
  return 'keyId' in payer ? payer : null;
}

/**
 * Everything a call to `model` must pass before it is admitted, in order: the key may use the model,
 * a channel serves it, it has a price, a channel for it is up. Refused here, a call costs nothing.
 */
export function priceFor(deps: OpenAiDeps, payer: Payer, model: string): ModelPrice {
  const key = keyOf(payer);
  if (key?.allowedModels && !key.allowedModels.has(model)) throw new AppError('MODEL_NOT_FOUND', { model });
  if (!deps.channels.serves(model)) throw new AppError('MODEL_NOT_FOUND', { model });
  const price = deps.pricing.priceOf(model);
  if (!price) throw new AppError('MODEL_NOT_PRICED', { model });
  // Served, but every channel for it is out until a probe finds one healthy: try again later.
  if (deps.channels.candidates(model).length === 0) throw new AppError('UPSTREAM_UNAVAILABLE');
  return price;
}

/** The context of a key's (or a session's) call to `endpoint`; the body's `model` is checked by the route's schema. */
export function keyCallContext(
  requestId: string,
  payer: Payer,
  endpoint: string,
  model: string,
  stream: boolean,
): CallContext {
  return {
    requestId,
    userId: payer.userId,
    keyId: keyOf(payer)?.keyId ?? null,
    role: payer.role,
    endpoint,
    model,
    stream,
    startedAt: performance.now(),
  };
}

/**
 * Sends `body` to the best channel for the call's model (the model renamed as the channel maps it),
 * trying the next on a failure (see failover.ts).
 */
export async function sendToChannels(
  deps: OpenAiDeps,
  endpoint: OpenAiEndpoint,
  model: string,
  body: Record<string, unknown>,
  signal: UpstreamAbort,
): Promise<SentCall> {
  const payloadFor = (channel: Channel) => encodeJson({ ...body, model: channel.modelMap[model] ?? model });
  const routed = await sendWithFailover(deps.channels, model, endpoint.path, payloadFor, signal, deps.failover);
  if (routed.response.statusCode < 300) await deps.channels.succeeded(routed.channel);
  return { response: routed.response, channelId: routed.channel.id };
}

/** The in-band error event OpenAI sends when a stream fails after it began. */
export function openAiErrorEvent(message: string): string {
  return `data: ${JSON.stringify({ error: { message, type: 'server_error', param: null, code: null } })}\n\n`;
}

import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '#core/errors.ts';
import type { ResolvedKey } from '#modules/keys/keys.service.ts';
import type { Usage } from '#modules/pricing/price.ts';
import type { UsageSource } from '#modules/usage/usage.tables.ts';
import { admit } from '#modules/metering/admission.ts';
import { callContext } from '#modules/metering/bill.ts';
import { ClientWatch } from '#modules/metering/client-watch.ts';
import type { ChatDeps } from './chat.ts';
import { sendWithFailover } from '#modules/metering/failover.ts';
import { encodeJson } from '#core/upstream.ts';

/** What differs between the whole-JSON endpoints (embeddings, images). */
export interface JsonEndpoint<B> {
  name: string;
  path: string;
  /** Checks the body; throws VALIDATION_FAILED. */
  validate(body: B): void;
  /** The most the call can use, for the hold. */
  worstCase(body: B): Usage;
  /** What the call used, from the upstream's answer (or counted when it says nothing). */
  usageOf(answer: unknown, body: B): { usage: Usage; source: UsageSource };
  /** The input alone, counted: what a call the client abandoned before any answer is billed. */
  inputUsage(body: B): Usage;
}

/** Admit, hold, send through the channels, settle, then pass the answer on byte for byte. */
export async function relayJson<B extends { model?: unknown }>(
  deps: ChatDeps,
  endpoint: JsonEndpoint<B>,
  request: FastifyRequest,
  reply: FastifyReply,
  key: ResolvedKey,
): Promise<void> {
  const body = request.body as B;
  const context = callContext(request, key, endpoint.name, body.model, false);
  endpoint.validate(body);
  const call = await admit(deps, key, context, endpoint.worstCase(body), reply);
  const client = new ClientWatch(reply.raw);
  let channelId: string | null = null;
  try {
    const routed = await sendWithFailover(
      deps.channels,
      context.model,
      endpoint.path,
      (c) => encodeJson({ ...body, model: c.modelMap[context.model] ?? context.model }),
      client.signal,
      deps.failover,
    );
    channelId = routed.channel.id;
    const { response } = routed;
    // The answer is on its way: let it arrive even if the client leaves now, and bill what it says.
    client.keepUpstream();
    const text = await response.body.text();
    const contentType = String(response.headers['content-type'] ?? 'application/json');
    if (response.statusCode >= 300) {
      await call.cancel({ channelId, httpStatus: response.statusCode, endReason: 'upstream_refused' });
      return await reply.status(response.statusCode).type(contentType).send(text);
    }
    await deps.channels.succeeded(routed.channel);
    let answer: unknown;
    try {
      answer = JSON.parse(text);
    } catch {
      answer = undefined;
    }
    const { usage, source } = endpoint.usageOf(answer, body);
    await call.settle(usage, source, { channelId, httpStatus: response.statusCode, endReason: client.gone ? 'client_disconnect' : 'stop' });
    return await reply.status(response.statusCode).type(contentType).send(text);
  } catch (error) {
    if (client.aborted) {
      // The client went away before the upstream answered: the upstream was stopped; bill the input it read (rule 5).
      await call.settle(endpoint.inputUsage(body), 'estimated', { channelId, httpStatus: 499, endReason: 'client_disconnect', error: 'client closed the connection' });
    } else {
      await call.cancel({ channelId, httpStatus: error instanceof AppError ? error.status : 502, endReason: 'upstream_error', error: (error as Error).message });
    }
    throw error;
  } finally {
    client.dispose();
    await call.release();
  }
}

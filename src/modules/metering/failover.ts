import type { Dispatcher } from 'undici';
import { AppError } from '#core/errors.ts';
import type { Channel, ChannelsService } from '#modules/channels/channels.service.ts';
import { isRetryableStatus, postJson, type UpstreamAbort, type UpstreamTimeouts } from '#core/upstream.ts';

export interface Routed {
  channel: Channel;
  response: Dispatcher.ResponseData;
}

export interface FailoverOptions {
  maxAttempts: number;
  timeouts: UpstreamTimeouts;
}

/**
 * Sends the call to the best channel for `model`; on a 429, a 5xx or no connection it tries the next
 * one (each channel once, at most `maxAttempts`), counting the failure against the channel. A call
 * that never got an answer was never billed. Any other answer, success or 4xx, is returned.
 */
export async function sendWithFailover(
  channels: ChannelsService,
  model: string,
  path: string,
  payloadFor: (channel: Channel) => string,
  signal: UpstreamAbort,
  options: FailoverOptions,
): Promise<Routed> {
  const tried = new Set<string>();
  let lastProblem = 'no channel serves this model';
  let retryAfter: number | undefined;
  for (let attempt = 0; attempt < options.maxAttempts; attempt++) {
    const channel = channels.pick(model, tried);
    if (!channel) break;
    tried.add(channel.id);
    // Built outside the try: a body that cannot be encoded is the request's fault, not the channel's.
    const payload = payloadFor(channel);
    let response: Dispatcher.ResponseData;
    try {
      response = await postJson(channel.baseUrl, path, channel.secret, payload, signal, options.timeouts);
    } catch (error) {
      if (signal.aborted) throw error;
      lastProblem = (error as Error).message;
      await channels.failed(channel, lastProblem);
      continue;
    }
    if (!isRetryableStatus(response.statusCode)) return { channel, response };
    const header = response.headers['retry-after'];
    retryAfter = typeof header === 'string' && /^\d+$/.test(header) ? Number(header) : retryAfter;
    lastProblem = `HTTP ${response.statusCode}: ${(await response.body.text()).slice(0, 200)}`;
    await channels.failed(channel, lastProblem);
  }
  throw new UpstreamExhausted(lastProblem, retryAfter);
}

/** Every channel tried failed; carries what the last one said, for the log (not for the client). */
export class UpstreamExhausted extends AppError {
  constructor(
    readonly lastProblem: string,
    retryAfter: number | undefined,
  ) {
    super('UPSTREAM_UNAVAILABLE', {}, {}, retryAfter);
  }
}

import type { FastifyReply } from 'fastify';
import type { Dispatcher } from 'undici';
import { AppError } from '#core/errors.ts';
import { admit, type AdmissionDeps, type CallTerms, type MeteredCall } from './admission.ts';
import { ClientWatch } from './client-watch.ts';
import type { Usage } from '#modules/pricing/price.ts';
import type { UsageSource } from '#modules/usage/usage.tables.ts';
import type { PaidCall, StreamBill, Streamed, StreamReading, WholeReading } from './paid-call.ts';
import { openEventStream, SseFramer, writeToClient } from './sse.ts';

/**
 * The life of every paid call (docs/metering.md): admit (rate limits, hold) → send → relay the whole
 * or streamed answer while reading what it used → settle or cancel → usage record, with a client that
 * may leave at any point. The call is settled (money durable, slots freed) before the client's answer
 * is complete; whatever happens, its hold is closed once.
 */
export async function runPaidCall<S extends StreamReading, W extends WholeReading>(
  deps: AdmissionDeps,
  call: PaidCall<S, W>,
  reply: FastifyReply,
): Promise<void> {
  const metered = await admit(deps, call.terms, reply);
  const client = new ClientWatch(reply.raw);
  const ended = deps.inFlight.add(client);
  let channelId: string | null = null;
  try {
    const sent = await call.send(client.signal);
    channelId = sent.channelId;
    const { response } = sent;
    if (response.statusCode >= 300) {
      // The upstream refused the request itself (a 4xx other than 429): nothing was produced, nothing is charged.
      const text = await response.body.text();
      await metered.cancel({ channelId, httpStatus: response.statusCode, endReason: 'upstream_refused' });
      return await reply.status(response.statusCode).type(contentTypeOf(response)).send(text);
    }
    const answer = { call, metered, reply, response, client, channelId };
    if (call.streamed) await relayStream(answer, call.streamed);
    else await relayWhole(answer);
  } catch (error) {
    if (client.aborted) {
      // The client went away before the upstream answered: the upstream was stopped; bill the prompt it read.
      await metered.settle(call.estimate(''), 'estimated', {
        channelId,
        httpStatus: 499,
        endReason: client.goneReason,
        error: 'client closed the connection',
      });
    } else {
      await metered.cancel({
        channelId,
        httpStatus: error instanceof AppError ? error.status : 502,
        endReason: 'upstream_error',
        error: (error as Error).message,
      });
    }
    throw error;
  } finally {
    client.dispose();
    await metered.finish();
    ended();
  }
}

function contentTypeOf(response: Dispatcher.ResponseData): string {
  return String(response.headers['content-type'] ?? 'application/json');
}

/** An upstream's answer on its way to the client. */
interface Answer<S extends StreamReading, W extends WholeReading> {
  call: PaidCall<S, W>;
  metered: MeteredCall;
  reply: FastifyReply;
  response: Dispatcher.ResponseData;
  client: ClientWatch;
  channelId: string;
}

/** A whole answer: billed from what it says it used (or counted), then passed on byte for byte. */
async function relayWhole<S extends StreamReading, W extends WholeReading>({
  call,
  metered,
  reply,
  response,
  client,
  channelId,
}: Answer<S, W>): Promise<void> {
  // The answer is on its way: let it arrive even if the client leaves now, and bill what it says.
  client.keepUpstream();
  const text = await response.body.text();
  const answer = call.readWhole(text);
  const endReason = client.gone ? client.goneReason : answer.endReason;
  const end = { channelId, httpStatus: response.statusCode, endReason };
  if (answer.usage) await metered.settle(answer.usage, 'upstream', end);
  else await metered.settle(call.estimate(answer.produced), 'estimated', end);
  await call.afterWhole?.(answer, response.statusCode, client.gone);
  await reply.status(response.statusCode).type(contentTypeOf(response)).send(text);
}

/**
 * A stream: events pass through as they arrive, read by the kind's reader. If the client goes away the
 * upstream is stopped and the prompt plus what was produced so far is billed. An upstream failure
 * before any output is not billed; after some output, what was produced is, and the client gets an
 * in-band error event (so it never mistakes a cut answer for a whole one).
 */
async function relayStream<S extends StreamReading, W extends WholeReading>(
  { call, metered, reply, response, client, channelId }: Answer<S, W>,
  streamed: Streamed<S>,
): Promise<void> {
  const reading = streamed.read();
  const framer = new SseFramer(reading);
  const raw = openEventStream(reply);
  streamed.onStart?.(client, reading);
  // From the terminal event on, the events wait for the settle and go out with the end of the answer,
  // in one write: the client does not see the stream finished before its call is billed.
  const closing: Array<string | Uint8Array> = [];
  let failure: string | undefined;
  try {
    for await (const chunk of response.body) {
      const out = framer.push(chunk as Buffer);
      if (streamed.onProgress) await streamed.onProgress(reading); // no await (a microtask a chunk) for a kind without one
      if (client.gone) continue;
      if (reading.finished) closing.push(out);
      else if (out.length > 0) await writeToClient(raw, out);
      // An in-band error ends the answer: stop reading, settle, then pass the error on.
      if (reading.halted) break;
    }
    const tail = framer.flush();
    if (reading.finished) closing.push(tail);
    else if (tail.length > 0 && !client.gone) await writeToClient(raw, tail);
  } catch (error) {
    if (!client.gone) failure = (error as Error).message;
  }

  const disconnected = client.gone;
  const upstreamFailed = !disconnected && (failure !== undefined || reading.upstreamError !== undefined);
  const endReason = disconnected ? client.goneReason : upstreamFailed ? 'upstream_error' : reading.endReason();
  const end = { channelId, httpStatus: 200, endReason, error: failure ?? reading.upstreamError };
  let ownEvent: string | void = undefined;
  try {
    // The text is read back (every event parsed) only when the upstream gave no usage to bill by.
    const charge = async (usage: Usage, source: UsageSource): Promise<StreamBill> => ({
      usage,
      source,
      credits: await metered.settle(usage, source, end),
    });
    let bill: StreamBill | undefined;
    if (reading.usage) bill = await charge(reading.usage, 'upstream');
    else if (upstreamFailed && reading.producedText().length === 0) await metered.cancel(end);
    else bill = await charge(call.estimate(reading.producedText()), 'estimated');
    if (streamed.after) ownEvent = await streamed.after(reading, { disconnected, upstreamFailed, bill });
  } finally {
    if (!client.gone && !raw.destroyed) {
      // Written in one turn: Node sends them and the end of the chunked answer in one system call.
      for (const out of closing) if (out.length > 0) raw.write(out);
      if (ownEvent) raw.write(ownEvent);
      if (reading.heldEvent !== undefined) await writeToClient(raw, reading.heldEvent);
      else if (failure !== undefined) await writeToClient(raw, streamed.brokenEvent(reading, failure));
    }
    if (!raw.destroyed) raw.end();
  }
}

/**
 * A paid call whose upstream work is done by `work` itself (a Dify upload, speech, suggested
 * questions): admitted and held like any other, then charged its price when `work` succeeds, or
 * nothing when it fails.
 */
export async function runFlatCall<T>(
  deps: AdmissionDeps,
  terms: CallTerms,
  channelId: string,
  reply: FastifyReply,
  work: () => Promise<T>,
): Promise<T> {
  const metered = await admit(deps, terms, reply);
  // Its work cannot be stopped half-way: at shutdown it is let finish (cutting it would not stop it).
  const ended = deps.inFlight.add({ cut: () => undefined });
  try {
    const result = await work();
    await metered.settle(terms.worstCase, 'upstream', { channelId, httpStatus: 200, endReason: 'stop' });
    return result;
  } catch (error) {
    await metered.cancel({
      channelId,
      httpStatus: error instanceof AppError ? error.status : 502,
      endReason: 'upstream_error',
      error: (error as Error).message,
    });
    throw error;
  } finally {
    await metered.finish();
    ended();
  }
}

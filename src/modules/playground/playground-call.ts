import { CHAT, textCall, type TextBody } from '#modules/metering/adapters/openai-text.ts';
import type { OpenAiDeps, SessionPayer } from '#modules/metering/adapters/openai.ts';
import type { OpenAiEvents } from '#modules/metering/adapters/openai-events.ts';
import type { PaidCall, StreamBill, StreamEnd, WholeReading } from '#modules/metering/paid-call.ts';

/** The playground's calls in the usage records: the console session's, no key. */
export const PLAYGROUND_ENDPOINT = 'playground.chat.completions';

/** The name of the event that ends a playground stream with its bill. */
export const BILL_EVENT = 'tollgate.bill';

/** What the playground's last event says: the call's tokens and the credits it was charged. */
export interface PlaygroundBill {
  request_id: string;
  prompt_tokens: number;
  completion_tokens: number;
  credits: number;
  usage_source: StreamBill['source'];
}

/**
 * A chat completion made from the console's playground: the very paid call of POST /v1/chat/completions
 * (same admission, limits, plan, hold, failover, settle), paid by the signed-in user with no key and
 * recorded as the playground's. A stream ends, once billed, with an event of its own that says what the
 * call used and cost (docs/console.md, Playground and chat).
 */
export function playgroundCall(
  deps: OpenAiDeps,
  requestId: string,
  body: TextBody,
  payer: SessionPayer,
): PaidCall<OpenAiEvents, WholeReading> {
  const call = textCall(deps, CHAT, requestId, body, payer);
  const context = { ...call.terms.context, endpoint: PLAYGROUND_ENDPOINT };
  const streamed = call.streamed && {
    ...call.streamed,
    after: (_events: OpenAiEvents, end: StreamEnd) => Promise.resolve(end.bill ? billEvent(requestId, end.bill) : ''),
  };
  return { ...call, terms: { ...call.terms, context }, streamed };
}

function billEvent(requestId: string, bill: StreamBill): string {
  const data: PlaygroundBill = {
    request_id: requestId,
    prompt_tokens: bill.usage.inputTokens,
    completion_tokens: bill.usage.outputTokens,
    credits: bill.credits,
    usage_source: bill.source,
  };
  return `event: ${BILL_EVENT}\ndata: ${JSON.stringify(data)}\n\n`;
}

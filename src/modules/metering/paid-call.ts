import type { Dispatcher } from 'undici';
import type { UpstreamAbort } from '#core/upstream.ts';
import type { Usage } from '#modules/pricing/price.ts';
import type { UsageSource } from '#modules/usage/usage.tables.ts';
import type { CallTerms } from './admission.ts';
import type { ClientWatch } from './client-watch.ts';
import type { EventReader } from './sse.ts';

/**
 * One paid call of an upstream kind, prepared from its request by that kind's adapter
 * (metering/adapters/): everything the pipeline (pipeline.ts) needs to admit it, send it, read what it
 * used and bill it. The pipeline owns the life of the call and its money; an adapter only says what
 * differs. See docs/metering.md.
 */
export interface PaidCall<S extends StreamReading = StreamReading, W extends WholeReading = WholeReading> {
  /** What it is admitted on: who calls, its price, its worst case, how its cost beyond the hold is treated. */
  readonly terms: CallTerms;
  /** Sends it (through the channels, with failover where the kind has it); throws when no answer came. */
  send(signal: UpstreamAbort): Promise<SentCall>;
  /** What the call used, counted from its prompt and `produced`, for an upstream that reported nothing. */
  estimate(produced: string): Usage;
  /** Reads a whole (not streamed) answer's body. */
  readWhole(text: string): W;
  /** After a whole answer was billed, before it is sent (Dify records the message). */
  afterWhole?(answer: W, httpStatus: number, clientGone: boolean): Promise<void>;
  /** Present when the call is streamed: how its events are read. */
  readonly streamed?: Streamed<S>;
}

/** How a kind's streamed answer is read. */
export interface Streamed<S extends StreamReading> {
  /** A reader for the stream's events. */
  read(): S;
  /**
   * The stream has begun. By default a client that leaves stops the upstream call; a kind whose
   * upstream must be told (a Dify task) takes the client watch over here.
   */
  onStart?(client: ClientWatch, stream: S): void;
  /** After each chunk of the stream was read (Dify writes down the ids it has seen). */
  onProgress?(stream: S): Promise<void>;
  /**
   * After the stream was billed, before its end is sent (Dify records the message). What it returns is
   * an event of the route's own, sent after the upstream's last events (the playground's bill).
   */
  after?(stream: S, end: StreamEnd): Promise<string | void>;
  /** The event that tells the client its stream broke, in the upstream's own shape. */
  brokenEvent(stream: S, message: string): string;
}

/** The upstream's answer and the channel that gave it. */
export interface SentCall {
  response: Dispatcher.ResponseData;
  channelId: string;
}

/** What a whole answer says about its call. */
export interface WholeReading {
  /** Reported by the upstream, with real counts; undefined when it is to be counted. */
  usage: Usage | undefined;
  /** The answer's text, for counting. */
  produced: string;
  endReason: string;
}

/** What a streamed answer's reader knows as it goes. */
export interface StreamReading extends EventReader {
  /** The terminal event came (`[DONE]`, `message_end`, …): what follows waits for the bill. */
  readonly finished: boolean;
  /** Reported by the upstream, with real counts; undefined when it is to be counted. */
  readonly usage: Usage | undefined;
  /** An in-band error's message, when the upstream sent one. */
  readonly upstreamError: string | undefined;
  /** The upstream's own error event, held back until the call is billed (then sent as it came). */
  readonly heldEvent?: string | undefined;
  /** The text produced so far, for counting. */
  producedText(): string;
  /** Why the answer ended, when it ended normally (a finish reason, a workflow status, or `incomplete`). */
  endReason(): string;
}

/** How a stream ended, for what is recorded after it. */
export interface StreamEnd {
  disconnected: boolean;
  upstreamFailed: boolean;
  /** What the call was charged for and how much; absent when it was not charged (cancelled). */
  bill?: StreamBill;
}

/** A settled stream's usage (the upstream's, or counted) and the credits it was charged. */
export interface StreamBill {
  usage: Usage;
  source: UsageSource;
  credits: number;
}

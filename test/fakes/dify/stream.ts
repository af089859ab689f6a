/**
 * Plays one Dify SSE stream: the scripted events one by one (chunk-delay apart), `event: ping`
 * frames every pingIntervalMs while the stream is open (Dify pings on a clock, not on idleness),
 * the stream faults of the behaviour, and stops: a stop call ends the stream with the script's
 * "stopped" terminal events, computed from the deltas produced so far.
 */
import type { ServerResponse } from 'node:http';
import { resetConnection, type Exchange } from '#test/fakes/openai/stream.ts';
import type { DifyBehavior } from './behavior.ts';
import { inBandError, type InBandError } from './errors.ts';
import { dataFrame, PING_FRAME } from './json.ts';

export type DifyEvent = Record<string, unknown>;

export interface ScriptEvent {
  event: DifyEvent;
  /** Carries one token of the answer (a `message`, `agent_message` or `text_chunk`). */
  delta?: boolean;
  /** A terminal event (message_end, workflow_finished): what `no-end` leaves out. */
  terminal?: boolean;
}

/**
 * How a stream ended: completed (all events, terminal ones included), cut (`no-end`), stopped,
 * failed (in-band error), reset (the fake dropped it), aborted (the client went away).
 */
export type StreamEnding = 'completed' | 'cut' | 'stopped' | 'failed' | 'reset' | 'aborted';

export interface StreamScript {
  taskId: string;
  appKey: string;
  /** The end user allowed to stop it; undefined: anyone (workflow stops do not check the user). */
  ownerId: string | undefined;
  events: ScriptEvent[];
  /** The events that end the stream after a stop, when `produced` deltas went out. */
  afterStop(produced: number): DifyEvent[];
  /** The events that end the stream with an in-band error. */
  afterError(produced: number, error: InBandError): DifyEvent[];
  /** Records the outcome in the fake's state (the message's answer, the run's status…). */
  settle(ending: StreamEnding, produced: number, error?: InBandError): void;
}

export interface PlayOptions {
  pingIntervalMs: number;
  /** The fake dropped the connection (counts stats.resets). */
  onReset(): void;
  /** The stream is over, whichever way: unregister its task. */
  onSettled(): void;
}

type Ending = 'end' | 'error' | 'reset' | 'stall';

/** Applies no-end and the first of error-after / reset-after / stall-after to the script. */
function shape(events: ScriptEvent[], behavior: DifyBehavior): { events: ScriptEvent[]; ending: Ending } {
  const kept = behavior.noEnd ? events.filter((e) => !e.terminal) : events;
  const cuts = (
    [
      [behavior.errorAfter, 'error'],
      [behavior.resetAfter, 'reset'],
      [behavior.stallAfter, 'stall'],
    ] as const
  ).filter((cut): cut is readonly [number, 'error' | 'reset' | 'stall'] => cut[0] !== undefined);
  if (cuts.length === 0) return { events: kept, ending: 'end' };
  const [at, kind] = cuts.reduce((a, b) => (b[0] < a[0] ? b : a));
  // An error replaces the terminal events: it never follows a message_end.
  const base = kind === 'error' ? kept.filter((e) => !e.terminal) : kept;
  return { events: base.slice(0, at), ending: kind };
}

export class StreamPlayer {
  /** Deltas written so far. */
  produced = 0;
  private index = 0;
  private done = false;
  private stopping = false;
  private readonly plan: { events: ScriptEvent[]; ending: Ending };
  private stepTimer: NodeJS.Timeout | undefined;
  private stopTimer: NodeJS.Timeout | undefined;
  private pingTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly res: ServerResponse,
    private readonly ex: Exchange,
    readonly script: StreamScript,
    private readonly behavior: DifyBehavior,
    private readonly options: PlayOptions,
  ) {
    this.plan = shape(script.events, behavior);
  }

  start(): void {
    if (!this.behavior.noPing && this.options.pingIntervalMs > 0) {
      this.pingTimer = setInterval(() => {
        if (!this.done && !this.ex.closed) this.res.write(PING_FRAME);
      }, this.options.pingIntervalMs);
    }
    this.step();
  }

  /** A stop call: ends the stream after `stop-wait` ms (deltas go on meanwhile). False when already over. */
  stop(): boolean {
    if (this.done || this.stopping) return false;
    this.stopping = true;
    const wait = this.behavior.stopWait ?? 0;
    if (wait === 0) this.stopNow();
    else this.stopTimer = setTimeout(() => this.stopNow(), wait);
    return true;
  }

  /** The response closed; if the stream was not over, the client went away. Returns true for an abort. */
  closed(): boolean {
    this.clearTimers();
    if (this.done) return false;
    this.done = true;
    this.script.settle('aborted', this.produced);
    this.options.onSettled();
    return true;
  }

  private readonly step = (): void => {
    this.stepTimer = undefined;
    if (this.done) return;
    const delay = this.behavior.chunkDelay ?? 0;
    const { events } = this.plan;
    while (this.index < events.length) {
      this.write(events[this.index++]!);
      if (delay > 0 && this.index < events.length) {
        this.stepTimer = setTimeout(this.step, delay);
        return;
      }
    }
    this.finish();
  };

  private write(scripted: ScriptEvent): void {
    this.res.write(dataFrame(scripted.event, this.behavior.spaced));
    if (scripted.delta) this.produced++;
  }

  private finish(): void {
    switch (this.plan.ending) {
      case 'end':
        this.end(this.behavior.noEnd && this.script.events.some((e) => e.terminal) ? 'cut' : 'completed');
        break;
      case 'error': {
        const error = inBandError(this.behavior.code, this.behavior.message);
        for (const event of this.script.afterError(this.produced, error))
          this.res.write(dataFrame(event, this.behavior.spaced));
        this.end('failed', error);
        break;
      }
      case 'stall':
        // Stay open: pings go on (as Dify's would), a stop or the client ends it.
        break;
      case 'reset':
        this.done = true;
        this.clearTimers();
        this.options.onReset();
        resetConnection(this.res, this.ex, '', { rst: this.behavior.rst === true, headers: true });
        this.script.settle('reset', this.produced);
        this.options.onSettled();
        break;
    }
  }

  private stopNow(): void {
    this.stopTimer = undefined;
    if (this.done) return;
    for (const event of this.script.afterStop(this.produced)) this.res.write(dataFrame(event, this.behavior.spaced));
    this.end('stopped');
  }

  private end(ending: StreamEnding, error?: InBandError): void {
    this.done = true;
    this.clearTimers();
    this.res.end();
    this.script.settle(ending, this.produced, error);
    this.options.onSettled();
  }

  private clearTimers(): void {
    clearTimeout(this.stepTimer);
    clearTimeout(this.stopTimer);
    clearInterval(this.pingTimer);
    this.stepTimer = this.stopTimer = this.pingTimer = undefined;
  }
}

import type { ServerResponse } from 'node:http';
import { UpstreamAbort } from '#core/upstream.ts';

/**
 * Watches the client's connection during a metered call. While the upstream is still working (no
 * answer yet, or a stream in progress) the client going away aborts the upstream call: nobody would
 * read the rest, and the operator would keep paying for it. Once a whole (non-stream) answer has
 * started to arrive, `keepUpstream()` lets it finish, so the call is billed what the upstream did.
 */
export class ClientWatch {
  private readonly upstreamAbort = new UpstreamAbort();
  private abortOnGone = true;
  private listeners: Array<() => void> = [];
  /** True once the client closed the connection before its answer was complete (or `cut` closed it). */
  gone = false;
  /** True when the server ended the answer early (`cut`), not the client. */
  private cutByServer = false;

  constructor(private readonly raw: ServerResponse) {
    raw.on('close', this.onClose);
  }

  get signal(): UpstreamAbort {
    return this.upstreamAbort;
  }

  /** The upstream call was aborted because the client went away. */
  get aborted(): boolean {
    return this.upstreamAbort.aborted;
  }

  keepUpstream(): void {
    this.abortOnGone = false;
  }

  /** Stops the upstream call now (after `keepUpstream`, when the caller decides the rest is not worth waiting for). */
  abort(): void {
    this.upstreamAbort.abort();
  }

  /**
   * Ends the answer now by closing the client's connection (shutdown, at the end of its drain time):
   * from there the call goes on exactly as if the client had left, and is billed for what it produced.
   */
  cut(): void {
    this.cutByServer = true;
    this.raw.destroy();
  }

  /** What a usage record says of an answer that ended because the client went away (or was cut). */
  get goneReason(): 'client_disconnect' | 'shutdown' {
    return this.cutByServer ? 'shutdown' : 'client_disconnect';
  }

  /** Calls `listener` once if the client goes away before its answer is complete. */
  onGone(listener: () => void): void {
    if (this.gone) listener();
    else this.listeners.push(listener);
  }

  dispose(): void {
    this.listeners = [];
    this.raw.off('close', this.onClose);
  }

  private readonly onClose = (): void => {
    if (this.raw.writableFinished) return;
    this.gone = true;
    if (this.abortOnGone) this.upstreamAbort.abort();
    for (const listener of this.listeners.splice(0)) listener();
  };
}

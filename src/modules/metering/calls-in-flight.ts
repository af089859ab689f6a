/** A running call that can be ended early, as if its client had gone (it is billed for what it produced). */
export interface Cuttable {
  cut(): void;
}

/**
 * The paid calls running in this process, for a graceful shutdown (core/http/graceful-close.ts): they
 * are let finish for a while, then `cutAll` ends those still running, and `settled` resolves once
 * every call has written its bill (so the database is closed after, never under, a settle).
 */
export class CallsInFlight {
  private readonly running = new Set<Cuttable>();
  private waiting: Array<() => void> = [];

  /** `call` has begun; the function returned says it has ended (its money written, its hold closed). */
  add(call: Cuttable): () => void {
    this.running.add(call);
    return () => {
      this.running.delete(call);
      if (this.running.size === 0) for (const resolve of this.waiting.splice(0)) resolve();
    };
  }

  get count(): number {
    return this.running.size;
  }

  cutAll(): void {
    for (const call of this.running) call.cut();
  }

  settled(): Promise<void> {
    if (this.running.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.waiting.push(resolve));
  }
}

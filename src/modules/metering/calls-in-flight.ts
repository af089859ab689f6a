/** A running call that can be ended early, as if its client had gone (it is billed for what it produced). */
export interface Cuttable {
  cut(): void;
}

/**
 * The paid calls running in this process, for a graceful shutdown (core/http/graceful-close.ts): they
 * are let finish for a while, then `cutAll` ends those still running, and `settled` resolves once
 * every call has written its bill (so the database is closed after, never under, a settle).
 *
 * The calls sit in numbered slots that are emptied (and reused) when a call ends, not in a `Set`: a
 * call's entry holds its whole request (the client's response, its headers, its socket's state), and
 * entries churned through a long-lived `Set` at every call kept those alive past V8's young-generation
 * collections, so each request was promoted to the old generation and its memory stayed until a full
 * collection (peak memory +100 MiB and more CPU per call under load; README, Performance). A slot
 * emptied at the end of its call holds nothing.
 */
export class CallsInFlight {
  private readonly slots: Array<Cuttable | undefined> = [];
  /** Emptied slots, reused first: the slots grow to the most calls ever running at once, no further. */
  private readonly free: number[] = [];
  private running = 0;
  private waiting: Array<() => void> = [];

  /** `call` has begun; the function returned says it has ended (its money written, its hold closed). */
  add(call: Cuttable): () => void {
    const slot = this.free.pop() ?? this.slots.length;
    this.slots[slot] = call;
    this.running += 1;
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      this.slots[slot] = undefined;
      this.free.push(slot);
      this.running -= 1;
      if (this.running === 0) for (const resolve of this.waiting.splice(0)) resolve();
    };
  }

  get count(): number {
    return this.running;
  }

  cutAll(): void {
    for (const call of this.slots.filter((running) => running !== undefined)) call.cut();
  }

  settled(): Promise<void> {
    if (this.running === 0) return Promise.resolve();
    return new Promise((resolve) => this.waiting.push(resolve));
  }
}

/** How long a call may keep things alive by renewal; past it they expire as if the call had died. */
const MAX_RUNNING_MS = 24 * 3_600_000;

/**
 * What the calls running in this process keep alive (their credit holds, their concurrency slots),
 * by id, each with when it was taken: renewed periodically while the call runs, so a call longer than
 * a TTL keeps them; dropped when the call ends. A dead process renews nothing, so its things expire.
 */
export class RunningCalls<T> {
  private readonly entries = new Map<string, { value: T; since: number }>();

  add(id: string, value: T, now: number): void {
    this.entries.set(id, { value, since: now });
  }

  delete(id: string): void {
    this.entries.delete(id);
  }

  /** What is still to be renewed at `now`: an entry kept for over a day is let go. */
  current(now: number): Array<[id: string, value: T]> {
    const live: Array<[string, T]> = [];
    for (const [id, { value, since }] of this.entries) {
      if (now - since > MAX_RUNNING_MS) this.entries.delete(id);
      else live.push([id, value]);
    }
    return live;
  }
}

import type { Redis } from 'ioredis';

type Listener = (topic: string) => void;

/**
 * Tells every instance that something cached has changed (a key disabled, a user's role changed).
 * The publishing instance hears it at once, before it answers; others through Redis pub/sub.
 * Without Redis there is only this instance.
 */
export class InvalidationBus {
  private readonly listeners = new Set<Listener>();
  private subscriber: Redis | undefined;

  private constructor(
    private readonly publisher: Redis | undefined,
    private readonly channel: string,
  ) {}

  static local(): InvalidationBus {
    return new InvalidationBus(undefined, '');
  }

  static async redis(client: Redis, prefix: string): Promise<InvalidationBus> {
    const bus = new InvalidationBus(client, `${prefix}invalidate`);
    const subscriber = client.duplicate();
    subscriber.on('message', (_channel: string, topic: string) => bus.deliver(topic));
    await subscriber.subscribe(bus.channel);
    bus.subscriber = subscriber;
    return bus;
  }

  subscribe(listener: Listener): void {
    this.listeners.add(listener);
  }

  async publish(topic: string): Promise<void> {
    this.deliver(topic);
    if (this.publisher) await this.publisher.publish(this.channel, topic);
  }

  private deliver(topic: string): void {
    for (const listener of this.listeners) listener(topic);
  }

  async close(): Promise<void> {
    this.listeners.clear();
    if (this.subscriber) await this.subscriber.quit().catch(() => this.subscriber?.disconnect());
  }
}

/**
 * What a cache does when it hears of a change: reload. A reload that fails (the database briefly away)
 * is retried every `everyMs`, up to `attempts` times, rather than left as an unhandled rejection (which
 * ends the process) or as stale prices and channels until the next change.
 */
export function reloadOnChange(load: () => Promise<void>, options: { attempts: number; everyMs: number } = { attempts: 30, everyMs: 1_000 }): () => void {
  return () => {
    let attempt = 0;
    const run = (): void => {
      load().catch(() => {
        attempt += 1;
        if (attempt < options.attempts) setTimeout(run, options.everyMs).unref();
      });
    };
    run();
  };
}

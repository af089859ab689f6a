import type { Redis } from 'ioredis';

type Listener = (topic: string) => void;

/** Where a change that could not be announced to the other instances is reported. */
type PublishFailed = (error: unknown, topic: string) => void;

/**
 * Tells every instance that something cached has changed (a key disabled, a user's role changed).
 * The publishing instance hears it at once, before it answers; others through Redis pub/sub.
 * Without Redis there is only this instance.
 *
 * Pub/sub loses what is published while a subscriber is away. So when this instance's subscriber
 * reconnects, its listeners hear `EVERYTHING` (reload it all); and a publish that fails is reported,
 * not thrown: the change is already in the database and applies here, and the other instances pick it
 * up at their next reconcile (CACHE_RECONCILE_SECONDS) or when their key cache entries expire.
 */
export class InvalidationBus {
  /** The topic every cache treats as "anything may have changed": reload or drop everything. */
  static readonly EVERYTHING = '*';

  private readonly listeners = new Set<Listener>();
  private subscriber: Redis | undefined;

  private constructor(
    private readonly publisher: Redis | undefined,
    private readonly channel: string,
    private readonly publishFailed: PublishFailed,
  ) {}

  static local(): InvalidationBus {
    return new InvalidationBus(undefined, '', () => {});
  }

  static async redis(client: Redis, prefix: string, publishFailed: PublishFailed): Promise<InvalidationBus> {
    const bus = new InvalidationBus(client, `${prefix}invalidate`, publishFailed);
    // Named, so an operator (or a test) finds this instance's subscription in CLIENT LIST.
    const subscriber = client.duplicate({ connectionName: `${prefix}invalidation` });
    subscriber.on('message', (_channel: string, topic: string) => bus.deliver(topic));
    // Redis away: the store's own client logs it (this copy shares its server), and this one
    // reconnects by itself; without a listener ioredis prints every failed attempt to the console.
    subscriber.on('error', () => undefined);
    await subscriber.subscribe(bus.channel);
    // Every later `ready` is a reconnect: once subscribed again, reload what may have changed meanwhile.
    subscriber.on('ready', () => {
      subscriber.subscribe(bus.channel).then(
        () => bus.deliver(InvalidationBus.EVERYTHING),
        () => undefined, // away again: the next reconnect reloads
      );
    });
    bus.subscriber = subscriber;
    return bus;
  }

  subscribe(listener: Listener): void {
    this.listeners.add(listener);
  }

  /** Applies `topic` here, then announces it to the other instances; never throws (see the class). */
  async publish(topic: string): Promise<void> {
    this.deliver(topic);
    if (!this.publisher) return;
    try {
      await this.publisher.publish(this.channel, topic);
    } catch (error) {
      this.publishFailed(error, topic);
    }
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
export function reloadOnChange(
  load: () => Promise<void>,
  options: { attempts: number; everyMs: number } = { attempts: 30, everyMs: 1_000 },
): () => void {
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

import { Redis } from 'ioredis';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { InvalidationBus } from '#core/invalidation.ts';
import { FaultProxy } from '#test/reliability/support/fault-proxy.ts';
import { uniquePrefix } from '#test/helpers/kv.ts';

const redisUrl = process.env.TEST_REDIS_URL;

describe.skipIf(!redisUrl)('the invalidation bus while Redis is away', () => {
  const opened: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    vi.restoreAllMocks();
    for (const close of opened.splice(0).reverse()) await close();
  });

  it('reports nothing unhandled on the console, and hears announcements again once Redis is back', async () => {
    const url = new URL(redisUrl!);
    const proxy = await FaultProxy.start({ host: url.hostname, port: Number(url.port || 6379) });
    opened.push(() => proxy.close());
    const client = new Redis(proxy.rewrite(redisUrl!), { maxRetriesPerRequest: 1, retryStrategy: () => 100 });
    client.on('error', () => {}); // the store's own client reports the outage (RedisStore.connect)
    opened.push(() => Promise.resolve(client.disconnect()));
    const prefix = uniquePrefix();
    const bus = await InvalidationBus.redis(client, prefix, () => {});
    opened.push(() => bus.close());
    const heard: string[] = [];
    bus.subscribe((topic) => heard.push(topic));
    const consoleError = vi.spyOn(console, 'error');

    proxy.cut();
    await new Promise((resolve) => setTimeout(resolve, 600));
    proxy.restore();
    await vi.waitFor(() => expect(heard).toContain(InvalidationBus.EVERYTHING), { timeout: 5_000 });

    const other = new Redis(redisUrl!);
    opened.push(() => other.quit());
    await vi.waitFor(
      async () => {
        await other.publish(`${prefix}invalidate`, 'price:gpt-4o'); // as another instance announces
        expect(heard).toContain('price:gpt-4o');
      },
      { timeout: 5_000 },
    );
    const unhandled = consoleError.mock.calls.filter((args) => String(args[0]).includes('Unhandled error event'));
    expect(unhandled, 'ioredis printed an error nobody handled').toEqual([]);
  });
});

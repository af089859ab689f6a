import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';

export type KvKind = 'memory' | 'redis';

/** Memory always; Redis when TEST_REDIS_URL is set. */
export function availableKvKinds(): KvKind[] {
  return process.env.TEST_REDIS_URL ? ['memory', 'redis'] : ['memory'];
}

/** A key prefix no other run uses. */
export function uniquePrefix(): string {
  return `tollgate-test:${Date.now().toString(36)}:${randomBytes(4).toString('hex')}:`;
}

/** Deletes every key under `prefix`, so a run leaves nothing behind in Redis. */
export async function clearRedisPrefix(url: string, prefix: string): Promise<void> {
  const client = new Redis(url, { lazyConnect: true });
  await client.connect();
  try {
    let cursor = '0';
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
      cursor = next;
      if (keys.length > 0) await client.del(...keys);
    } while (cursor !== '0');
  } finally {
    await client.quit();
  }
}

/** A plain client of the test Redis (no prefix), for what the tests do to the server itself. */
export async function rawRedis(url: string): Promise<Redis> {
  const client = new Redis(url, { lazyConnect: true });
  await client.connect();
  return client;
}

/**
 * The commands one connection (`client`) sends while `work` runs, as Redis received them (MONITOR):
 * what a script calls inside Redis is left out, so a script counts as the one command that ran it.
 */
export async function commandsSent(url: string, client: Redis, work: () => Promise<unknown>): Promise<string[][]> {
  const address = /\baddr=(\S+)/.exec(String(await client.client('INFO')))?.[1];
  // monitor() opens a connection of its own; the lazy client it copies never connects.
  const watcher = await new Redis(url, { lazyConnect: true }).monitor();
  const seen: string[][] = [];
  watcher.on('monitor', (_time: string, args: string[], source: string) => {
    if (source === address) seen.push(args);
  });
  try {
    await work();
    // The watcher sees this connection's commands in order: once the marker is there, so is the rest.
    const marker = `end-of-work-${randomBytes(4).toString('hex')}`;
    await client.echo(marker);
    for (let i = 0; i < 200 && !seen.some((args) => args[1] === marker); i++)
      await new Promise((resolve) => setTimeout(resolve, 10));
    return seen.filter((args) => args[1] !== marker);
  } finally {
    watcher.disconnect();
  }
}

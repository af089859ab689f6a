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

import { randomToken } from '#core/crypto.ts';
import type { KeyValueStore } from '#core/kv.ts';
import { WeChatUnreachableError, type WeChatClient } from './wechat.client.ts';

const TOKEN_KEY = 'wechat:access_token';
const LOCK_KEY = 'wechat:access_token:lock';
/** Kept this much shorter than WeChat says it lives (the platform rotates it 5 minutes before its end). */
const MARGIN_S = 300;
const LOCK_MS = 15_000;
const POLL_MS = 50;

/**
 * WeChat's server access token (for the phone-number API), shared by every instance through the KV
 * store (Redis when configured): fetched once, kept until shortly before it expires, and refreshed by
 * one instance at a time: whoever takes the lock fetches; the others wait for the token it stores.
 * A token WeChat rejects (40001/42001) is refreshed the same way, once for everyone: an instance that
 * finds a token other than the stale one already stored uses it without asking WeChat.
 */
export class AccessTokenCache {
  constructor(
    private readonly client: WeChatClient,
    private readonly kv: KeyValueStore,
  ) {}

  async get(): Promise<string> {
    return (await this.kv.get(TOKEN_KEY)) ?? this.refresh(undefined);
  }

  /** A token other than `stale` (WeChat rejected it), fetched by one instance for all. */
  async refresh(stale: string | undefined): Promise<string> {
    const deadline = Date.now() + LOCK_MS * 2;
    const owner = randomToken(12);
    for (;;) {
      const current = await this.kv.get(TOKEN_KEY);
      if (current !== null && current !== stale) return current;
      if (await this.kv.setIfAbsent(LOCK_KEY, owner, LOCK_MS)) {
        try {
          const again = await this.kv.get(TOKEN_KEY);
          if (again !== null && again !== stale) return again;
          // The stable token API gives the same token while it is valid; when that is the rejected one, force a new one.
          let fetched = await this.client.stableToken(false);
          if (fetched.token === stale) fetched = await this.client.stableToken(true);
          const ttlMs = Math.max(fetched.expiresIn - MARGIN_S, 60) * 1000;
          await this.kv.set(TOKEN_KEY, fetched.token, ttlMs);
          return fetched.token;
        } finally {
          await this.kv.deleteIfEquals(LOCK_KEY, owner);
        }
      }
      if (Date.now() > deadline) throw new WeChatUnreachableError('timed out waiting for the WeChat access token');
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  }
}

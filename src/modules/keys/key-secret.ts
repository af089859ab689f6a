import { randomToken } from '#core/crypto.ts';

/** Every key's secret starts with it; a bearer token without it is a session token. */
export const API_KEY_PREFIX = 'sk-';

/** A new key's secret: `sk-` and 43 URL-safe base64 characters (32 random bytes, 256 bits). */
export function newKeySecret(): string {
  return `${API_KEY_PREFIX}${randomToken(32)}`;
}

/** What is kept of a secret to show it again (`sk-AbCd…wxyz`): its first 7 and last 4 characters. */
export function secretEnds(secret: string): { prefix: string; last4: string } {
  return { prefix: secret.slice(0, 7), last4: secret.slice(-4) };
}

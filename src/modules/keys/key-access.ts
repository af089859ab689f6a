import { AppError } from '#core/errors.ts';
import type { ResolvedKey } from './keys.service.ts';

/**
 * Why a call with `key` from `ip` at `now` is refused, or null when it may go on. In this order: the
 * owner's account is disabled or deleted, the key is disabled, it has expired (at its expiry instant
 * already), or `ip` is not on its allow-list.
 */
export function keyRefusal(
  key: Pick<ResolvedKey, 'userActive' | 'enabled' | 'expiresAt' | 'allowsIp'>,
  ip: string,
  now: number,
): AppError | null {
  if (!key.userActive) return new AppError('ACCOUNT_DISABLED');
  if (!key.enabled) return new AppError('API_KEY_DISABLED');
  if (key.expiresAt !== null && key.expiresAt <= now) return new AppError('API_KEY_EXPIRED');
  if (key.allowsIp && !key.allowsIp(ip)) return new AppError('API_KEY_IP_DENIED', { ip });
  return null;
}

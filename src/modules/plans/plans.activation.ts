import { AppError } from '#core/errors.ts';
import type { PlanRow, SubscriptionRow, SubscriptionStatus } from './plans.tables.ts';

const DAY = 86_400_000;

/**
 * How an activation changes the user's plan (docs/plans.md, "The level rule"):
 * - `rule` (a redeem code, an order): no live plan → start now; the same plan → renew, extended from
 *   its current end; a higher level → upgrade now, the time left on the old plan carried over; the same
 *   or a lower level (another plan) → refused, 409, nothing changes.
 * - `set` (an admin): the plan given replaces whatever is current, ending when the admin says.
 */
export type ActivationMode = 'rule' | 'set';

export interface Change {
  /** What the current row becomes (null: there is no live current row to end, or it stays). */
  endCurrentAs: SubscriptionStatus | null;
  startedAt: number;
  expiresAt: number | null;
}

export interface ActivationRequest {
  mode: ActivationMode;
  /** Days instead of the plan's duration (a redeem code's, an admin's). */
  days?: number | undefined;
  /** An exact end (admin only). */
  expiresAt?: number | undefined;
}

function until(row: SubscriptionRow): string {
  return row.expires_at === null ? 'lifetime' : `until ${new Date(row.expires_at).toISOString()}`;
}

/** Decides the change, or refuses it; `current` is the row marked current (possibly past its end). */
export function decide(
  plan: PlanRow,
  current: SubscriptionRow | undefined,
  request: ActivationRequest,
  now: number,
): Change {
  const days = request.days ?? plan.duration_days;
  const length = days === null ? null : days * DAY;
  const live = current !== undefined && (current.expires_at === null || current.expires_at > now);
  const endCurrentAs: SubscriptionStatus | null = current ? (live ? 'replaced' : 'expired') : null;

  if (request.mode === 'set') {
    if (request.expiresAt !== undefined && request.expiresAt <= now) throw new AppError('PLAN_EXPIRY_IN_PAST');
    const expiresAt = request.expiresAt ?? (length === null ? null : now + length);
    return { endCurrentAs, startedAt: now, expiresAt };
  }
  if (!live) return { endCurrentAs, startedAt: now, expiresAt: length === null ? null : now + length };

  const names = { current: current.plan_name, until: until(current), plan: plan.name };
  if (current.plan_id === plan.id) {
    // A renewal: the new time is added after the current end; a lifetime plan has nothing to extend.
    if (current.expires_at === null) throw new AppError('PLAN_ALREADY_LIFETIME', { current: current.plan_name });
    return {
      endCurrentAs: 'replaced',
      startedAt: current.started_at,
      expiresAt: length === null ? null : current.expires_at + length,
    };
  }
  if (plan.level > current.level) {
    // An upgrade starts now; what was left of the old plan is kept, as time on the new one.
    if (length === null) return { endCurrentAs: 'replaced', startedAt: now, expiresAt: null };
    // A lifetime plan is never traded for one that ends.
    if (current.expires_at === null) throw new AppError('PLAN_CHANGE_REFUSED', names);
    return { endCurrentAs: 'replaced', startedAt: now, expiresAt: now + length + (current.expires_at - now) };
  }
  throw new AppError('PLAN_CHANGE_REFUSED', names);
}

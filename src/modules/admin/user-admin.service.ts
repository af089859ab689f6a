import { AppError } from '#core/errors.ts';
import type { Clock } from '#core/clock.ts';
import type { CursorPosition } from '#core/http/pagination.ts';
import type { TokenService } from '#modules/auth/token.service.ts';
import type { CreditsService } from '#modules/credits/credits.service.ts';
import type { KeysService } from '#modules/keys/keys.service.ts';
import type { OrdersService, Revenue } from '#modules/orders/orders.service.ts';
import type { PlansService } from '#modules/plans/plans.service.ts';
import type { UsageService } from '#modules/usage/usage.service.ts';
import { zoneOffsetMs } from '#modules/usage/usage.service.ts';
import type { UserChanges, UserFilter } from '#modules/users/users.repository.ts';
import type { UsersService } from '#modules/users/users.service.ts';
import type { Role, UserRow } from '#modules/users/users.tables.ts';

const DAY = 86_400_000;

export interface UserDetail {
  user: UserRow;
  credits: { balance: number; held: number; available: number };
}

/** The figures of seed 003's dashboard (GET /v1/admin/stats); docs/admin.md says what each counts. */
export interface AdminStats {
  users: { total: number; newToday: number; deleted: number };
  credits: { granted: number; spent: number; byKind: Record<string, { added: number; taken: number }> };
  calls: { total: number };
  /** Users holding a plan now, in all and by the plan's level ("1", "2", …). */
  vips: { total: number; byLevel: Record<string, number> };
  /** Money in and out, minor units per currency, in all and per day (the last 30 days); docs/payments.md. */
  revenue: Revenue;
}

/**
 * User management for admins (the console's /api/admin/users and seed 003's /v1/admin/users): one
 * service under both surfaces. Every change that can shut someone out (disable, demote) reaches every
 * instance before it returns: sessions re-read the account on each request, API keys are dropped from
 * every instance's cache (UsersService.update publishes `user:<id>`), and disabling also ends the
 * account's sessions, so enabling it again does not bring them back.
 */
export class UserAdminService {
  constructor(
    private readonly deps: {
      users: UsersService;
      tokens: TokenService;
      keys: KeysService;
      credits: CreditsService;
      usage: UsageService;
      plans: Pick<PlansService, 'subscribersByLevel'>;
      orders: Pick<OrdersService, 'revenue'>;
      clock: Clock;
      /** CHECKIN_TZ: "today" of the statistics is this zone's calendar day. */
      timeZone: string;
    },
  ) {}

  list(filter: UserFilter, paging: { page: number; limit: number; cursor?: CursorPosition }) {
    return this.deps.users.list(filter, paging);
  }

  async detail(id: string): Promise<UserDetail> {
    const user = await this.deps.users.findById(id);
    if (!user) throw new AppError('NOT_FOUND');
    return { user, credits: await this.deps.credits.account(id) };
  }

  /** Any change; disabling (here or through disable) also ends every session of the account. */
  async update(id: string, changes: UserChanges): Promise<{ before: UserRow; after: UserRow; sessionsEnded: number }> {
    const changed = await this.deps.users.update(id, changes);
    const sessionsEnded =
      changed.after.status === 'disabled' ? await this.deps.tokens.endAllSessions(id, 'account_disabled') : 0;
    return { ...changed, sessionsEnded };
  }

  disable(id: string) {
    return this.update(id, { status: 'disabled' });
  }

  enable(id: string) {
    return this.update(id, { status: 'active' });
  }

  setRole(id: string, role: Role) {
    return this.update(id, { role });
  }

  /**
   * Deletes the account, keeping its books (UsersService.remove): then ends its sessions and deletes
   * its API keys. Should either of those fail, the account is already disabled, which refuses both.
   */
  async remove(id: string): Promise<{ before: UserRow; after: UserRow; sessionsEnded: number; keysRemoved: number }> {
    const changed = await this.deps.users.remove(id);
    const sessionsEnded = await this.deps.tokens.endAllSessions(id, 'account_deleted');
    const keysRemoved = await this.deps.keys.removeAllOf(id);
    return { ...changed, sessionsEnded, keysRemoved };
  }

  /** Signs the user out everywhere: every session is refused at its next request. */
  async endSessions(id: string): Promise<number> {
    if (!(await this.deps.users.findById(id))) throw new AppError('NOT_FOUND');
    return this.deps.tokens.endAllSessions(id, 'ended_by_admin');
  }

  async stats(): Promise<AdminStats> {
    const now = this.deps.clock.now();
    const offset = zoneOffsetMs(this.deps.timeZone, now);
    const startOfToday = Math.floor((now + offset) / DAY) * DAY - offset;
    const [users, deleted, totals, calls, vipLevels, revenue] = await Promise.all([
      this.deps.users.counts(startOfToday),
      this.deps.users.countDeleted(),
      this.deps.credits.totalsByKind(),
      this.deps.usage.allCalls(),
      this.deps.plans.subscribersByLevel(),
      this.deps.orders.revenue(this.deps.timeZone, 30),
    ]);
    const byLevel = Object.fromEntries(
      [...vipLevels].sort(([a], [b]) => a - b).map(([level, n]) => [String(level), n]),
    );
    const byKind = Object.fromEntries(totals.map((t) => [t.kind, { added: t.added, taken: t.taken }]));
    return {
      users: { total: users.total, newToday: users.since, deleted },
      credits: {
        granted: totals.reduce((sum, t) => sum + t.added, 0),
        spent: totals.find((t) => t.kind === 'usage')?.taken ?? 0,
        byKind,
      },
      calls: { total: calls },
      vips: { total: [...vipLevels.values()].reduce((sum, n) => sum + n, 0), byLevel },
      revenue,
    };
  }
}

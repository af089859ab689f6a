import { Type, type Static } from 'typebox';
import { CursorPageQuery } from '#core/http/pagination.ts';
import type { UserRow } from '#modules/users/users.tables.ts';
import type { AdminStats, UserDetail } from './user-admin.service.ts';

const Role = Type.Union([Type.Literal('user'), Type.Literal('admin')]);
const Status = Type.Union([Type.Literal('active'), Type.Literal('disabled')]);

export const UserIdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 36 }) });

/** `?search&role&status` and page/cursor paging, newest first. */
export const UserListQuery = Type.Object(
  {
    ...CursorPageQuery.properties,
    search: Type.Optional(
      Type.String({ minLength: 1, maxLength: 128, description: 'An id exactly, or part of an email or username' }),
    ),
    role: Type.Optional(Role),
    status: Type.Optional(Status),
  },
  { additionalProperties: false },
);
export type UserListQuery = Static<typeof UserListQuery>;

/** An account as admins see it (no password, no WeChat session key). */
export const AdminUserView = Type.Object({
  id: Type.String(),
  email: Type.Union([Type.String(), Type.Null()]),
  username: Type.String(),
  role: Role,
  status: Status,
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
});
export type AdminUserView = Static<typeof AdminUserView>;

export const AdminUserDetail = Type.Object({
  ...AdminUserView.properties,
  credits: Type.Object({ balance: Type.Integer(), held: Type.Integer(), available: Type.Integer() }),
});

/** What an admin may change; absent fields stay as they are. */
export const UserUpdateBody = Type.Object(
  {
    email: Type.Optional(Type.String({ format: 'email', maxLength: 254 })),
    username: Type.Optional(Type.String({ minLength: 1, maxLength: 64, pattern: '\\S' })),
    role: Type.Optional(Role),
    status: Type.Optional(Status),
  },
  { additionalProperties: false },
);
export type UserUpdateBody = Static<typeof UserUpdateBody>;

export const RoleBody = Type.Object({ role: Role }, { additionalProperties: false });

export const SessionsEnded = Type.Object({ sessionsEnded: Type.Integer() });

export const StatsView = Type.Object({
  users: Type.Object({
    total: Type.Integer({ description: 'Every account (deleted ones included: their books stay)' }),
    newToday: Type.Integer({ description: 'Accounts created since midnight in CHECKIN_TZ' }),
  }),
  credits: Type.Object({
    granted: Type.Integer({ description: 'Every credit added: bonuses, check-ins, redeem codes, admin additions' }),
    spent: Type.Integer({ description: 'Credits charged for paid calls' }),
    byKind: Type.Record(Type.String(), Type.Object({ added: Type.Integer(), taken: Type.Integer() })),
  }),
  calls: Type.Object({ total: Type.Integer({ description: 'Metered calls kept (USAGE_RETENTION_DAYS)' }) }),
});

const iso = (ms: number): string => new Date(Number(ms)).toISOString();

export function toAdminUser(user: UserRow): AdminUserView {
  return {
    id: user.id,
    email: user.email,
    username: user.username,
    role: user.role,
    status: user.status,
    createdAt: iso(user.created_at),
    updatedAt: iso(user.updated_at),
  };
}

export function toAdminUserDetail(detail: UserDetail): Static<typeof AdminUserDetail> {
  return { ...toAdminUser(detail.user), credits: detail.credits };
}

/** The fields of a role or status change worth keeping in the audit log. */
export function auditedFields(user: UserRow): Record<string, unknown> {
  return { email: user.email, username: user.username, role: user.role, status: user.status };
}

export type StatsView = Static<typeof StatsView>;
export const toStatsView = (stats: AdminStats): StatsView => stats;

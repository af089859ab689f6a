import { Type, type Static } from 'typebox';
import { CursorPageQuery } from '#core/http/pagination.ts';
import type { UserChanges } from '#modules/users/users.repository.ts';
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
      Type.String({
        minLength: 1,
        maxLength: 128,
        description: 'An id or a WeChat openid exactly, or part of an email, username or nickname',
      }),
    ),
    role: Type.Optional(Role),
    status: Type.Optional(Status),
    deleted: Type.Optional(Type.Boolean({ description: 'true: deleted accounts only (default: none of them)' })),
  },
  { additionalProperties: false },
);
export type UserListQuery = Static<typeof UserListQuery>;

const Nullable = <T extends ReturnType<typeof Type.String>>(schema: T) => Type.Union([schema, Type.Null()]);

/** An account as admins see it (no password hash, no WeChat session key). */
export const AdminUserView = Type.Object({
  id: Type.String(),
  email: Nullable(Type.String()),
  username: Type.String(),
  nickname: Nullable(Type.String()),
  avatarUrl: Nullable(Type.String()),
  phone: Nullable(Type.String()),
  openid: Nullable(Type.String({ description: "The mini-program's openid of the account's WeChat identity" })),
  unionid: Nullable(Type.String()),
  hasPassword: Type.Boolean({ description: 'Whether the account can sign in with email and password' }),
  role: Role,
  status: Status,
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
  deletedAt: Nullable(Type.String({ format: 'date-time' })),
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
    nickname: Type.Optional(Nullable(Type.String({ maxLength: 64 }))),
    avatarUrl: Type.Optional(Nullable(Type.String({ maxLength: 1024, pattern: '^https?://' }))),
    phone: Type.Optional(Nullable(Type.String({ maxLength: 32, pattern: '^\\+?[0-9 -]{3,32}$' }))),
    role: Type.Optional(Role),
    status: Type.Optional(Status),
  },
  { additionalProperties: false },
);
export type UserUpdateBody = Static<typeof UserUpdateBody>;

export const RoleBody = Type.Object({ role: Role }, { additionalProperties: false });

export const SessionsEnded = Type.Object({ sessionsEnded: Type.Integer() });

/** What deleting an account did (docs/admin.md, deletion). */
export const Deleted = Type.Object({
  id: Type.String(),
  deletedAt: Type.String({ format: 'date-time' }),
  sessionsEnded: Type.Integer(),
  keysRemoved: Type.Integer(),
});

export const StatsView = Type.Object({
  users: Type.Object({
    total: Type.Integer({ description: 'Accounts, deleted ones not counted' }),
    newToday: Type.Integer({ description: 'Accounts created since midnight in CHECKIN_TZ (not deleted since)' }),
    deleted: Type.Integer({ description: 'Deleted accounts (their books stay)' }),
  }),
  credits: Type.Object({
    granted: Type.Integer({ description: 'Every credit added: bonuses, check-ins, redeem codes, admin additions' }),
    spent: Type.Integer({ description: 'Credits charged for paid calls' }),
    byKind: Type.Record(Type.String(), Type.Object({ added: Type.Integer(), taken: Type.Integer() })),
  }),
  calls: Type.Object({ total: Type.Integer({ description: 'Metered calls kept (USAGE_RETENTION_DAYS)' }) }),
  vips: Type.Object({
    total: Type.Integer({ description: 'Users holding a plan now (expired plans not counted)' }),
    byLevel: Type.Record(Type.String(), Type.Integer(), { description: "Those users by their plan's level" }),
  }),
  revenue: Type.Object(
    {
      byCurrency: Type.Array(
        Type.Object({
          currency: Type.String(),
          received: Type.Integer(),
          refunded: Type.Integer(),
          net: Type.Integer(),
          orders: Type.Integer({ description: 'Orders paid' }),
        }),
      ),
      days: Type.Array(
        Type.Object({
          date: Type.String({ description: 'A calendar day in CHECKIN_TZ' }),
          currency: Type.String(),
          received: Type.Integer(),
          refunded: Type.Integer(),
          net: Type.Integer(),
        }),
      ),
    },
    {
      description:
        'Money in minor units (fen, cents): paid orders received, succeeded refunds, net; the last 30 days by day',
    },
  ),
});

const iso = (ms: number): string => new Date(Number(ms)).toISOString();

export function toAdminUser(user: UserRow): AdminUserView {
  return {
    id: user.id,
    email: user.email,
    username: user.username,
    nickname: user.nickname,
    avatarUrl: user.avatar_url,
    phone: user.phone,
    openid: user.wechat_openid,
    unionid: user.wechat_unionid,
    hasPassword: user.password_hash !== null,
    role: user.role,
    status: user.status,
    createdAt: iso(user.created_at),
    updatedAt: iso(user.updated_at),
    deletedAt: user.deleted_at === null ? null : iso(user.deleted_at),
  };
}

export function toAdminUserDetail(detail: UserDetail): Static<typeof AdminUserDetail> {
  return { ...toAdminUser(detail.user), credits: detail.credits };
}

/** An account's fields in the audit log's before/after (a user change). */
export function auditedFields(user: UserRow): Record<string, unknown> {
  return {
    email: user.email,
    username: user.username,
    nickname: user.nickname,
    avatarUrl: user.avatar_url,
    phone: user.phone,
    role: user.role,
    status: user.status,
  };
}

/** The body's changes in the users table's words. */
export function changesOf(body: UserUpdateBody): UserChanges {
  const { email, username, nickname, avatarUrl, phone, role, status } = body;
  return {
    ...(email !== undefined ? { email } : {}),
    ...(username !== undefined ? { username } : {}),
    ...(nickname !== undefined ? { nickname } : {}),
    ...(avatarUrl !== undefined ? { avatar_url: avatarUrl } : {}),
    ...(phone !== undefined ? { phone } : {}),
    ...(role !== undefined ? { role } : {}),
    ...(status !== undefined ? { status } : {}),
  };
}

export type StatsView = Static<typeof StatsView>;
export const toStatsView = (stats: AdminStats): StatsView => stats;

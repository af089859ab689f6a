import { Type, type Static } from 'typebox';
import type { UserRow } from '#modules/users/users.tables.ts';

/**
 * Seed 003's user as a NestJS back end for a mini-program shows it (camelCase, dates as ISO strings).
 * What anyone signed in may see of another account (GET /v1/users/:id).
 */
export const DreamPublicUser = Type.Object({
  id: Type.String(),
  nickname: Type.Union([Type.String(), Type.Null()]),
  avatarUrl: Type.Union([Type.String(), Type.Null()]),
  createdAt: Type.String({ format: 'date-time' }),
});

/** Everything, for the account itself and for admins. The WeChat session key is never shown. */
export const DreamUser = Type.Object({
  ...DreamPublicUser.properties,
  username: Type.String(),
  email: Type.Union([Type.String(), Type.Null()]),
  phone: Type.Union([Type.String(), Type.Null()]),
  role: Type.Union([Type.Literal('user'), Type.Literal('admin')]),
  status: Type.Union([Type.Literal('active'), Type.Literal('disabled')]),
  /** Whether a WeChat identity is linked (the openid itself is not shown). */
  wechatLinked: Type.Boolean(),
  /** Whether the account can sign in with its email and a password (/api/auth/login). */
  hasPassword: Type.Boolean(),
  updatedAt: Type.String({ format: 'date-time' }),
});

export function toDreamPublicUser(user: UserRow): Static<typeof DreamPublicUser> {
  return {
    id: user.id,
    nickname: user.nickname,
    avatarUrl: user.avatar_url,
    createdAt: new Date(user.created_at).toISOString(),
  };
}

export function toDreamUser(user: UserRow): Static<typeof DreamUser> {
  return {
    ...toDreamPublicUser(user),
    username: user.username,
    email: user.email,
    phone: user.phone,
    role: user.role,
    status: user.status,
    wechatLinked: user.wechat_openid !== null,
    hasPassword: user.password_hash !== null,
    updatedAt: new Date(user.updated_at).toISOString(),
  };
}

import type { Generated, Insertable, Selectable, Updateable } from 'kysely';

export type Role = 'user' | 'admin';
export type UserStatus = 'active' | 'disabled';

export interface UsersTable {
  id: string;
  /** Lower-cased and trimmed; unique. Null for an account with only a WeChat identity (docs/seed-003.md). */
  email: string | null;
  username: string;
  /** The username when Tollgate made it up (registered without one); unique. Null when chosen. */
  derived_username: string | null;
  /** argon2id. Null when the account has no password (WeChat only): it cannot sign in with one. */
  password_hash: string | null;
  role: Generated<Role>;
  status: Generated<UserStatus>;
  /** Epoch milliseconds. */
  created_at: number;
  updated_at: number;
  /** The mini-program's openid of this account's WeChat identity; unique. */
  wechat_openid: string | null;
  /** WeChat's unionid, given when the mini-program is bound to an Open Platform account; unique. */
  wechat_unionid: string | null;
  /** The last session_key of jscode2session, sealed (core/crypto.ts SecretBox); never returned. */
  wechat_session_key: string | null;
  nickname: string | null;
  avatar_url: string | null;
  /** As WeChat gives it (`phoneNumber`: with the country code for numbers outside China). */
  phone: string | null;
  /** Epoch milliseconds when an admin deleted the account (status 'disabled', personal data erased). */
  deleted_at: number | null;
}

export interface UsersTables {
  users: UsersTable;
}

export type UserRow = Selectable<UsersTable>;
export type NewUserRow = Insertable<UsersTable>;
export type UserUpdate = Updateable<UsersTable>;

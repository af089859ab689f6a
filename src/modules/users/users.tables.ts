import type { Generated, Insertable, Selectable, Updateable } from 'kysely';

export type Role = 'user' | 'admin';
export type UserStatus = 'active' | 'disabled';

export interface UsersTable {
  id: string;
  /** Lower-cased and trimmed; unique. */
  email: string;
  username: string;
  /** The username when Tollgate made it up from the email (registered without one); unique. Null when chosen. */
  derived_username: string | null;
  password_hash: string;
  role: Generated<Role>;
  status: Generated<UserStatus>;
  /** Epoch milliseconds. */
  created_at: number;
  updated_at: number;
}

export interface UsersTables {
  users: UsersTable;
}

export type UserRow = Selectable<UsersTable>;
export type NewUserRow = Insertable<UsersTable>;
export type UserUpdate = Updateable<UsersTable>;

import { Type, type Static } from 'typebox';
import type { UserRow } from './users.tables.ts';

/** The user as the seed-001 login and register responses show it. */
export const PublicUserSchema = Type.Object({
  id: Type.String(),
  /** Null for an account that signs in only with WeChat (docs/seed-003.md). */
  email: Type.Union([Type.String(), Type.Null()]),
  username: Type.String(),
  role: Type.Union([Type.Literal('user'), Type.Literal('admin')]),
});
export type PublicUser = Static<typeof PublicUserSchema>;

/** Seed 001 §5.1. */
export const ProfileSchema = Type.Object({
  id: Type.String(),
  email: Type.Union([Type.String(), Type.Null()]),
  username: Type.String(),
  role: Type.Union([Type.Literal('user'), Type.Literal('admin')]),
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
});
export type Profile = Static<typeof ProfileSchema>;

export function toPublicUser(user: UserRow): PublicUser {
  return { id: user.id, email: user.email, username: user.username, role: user.role };
}

export function toProfile(user: UserRow): Profile {
  return {
    ...toPublicUser(user),
    createdAt: new Date(user.created_at).toISOString(),
    updatedAt: new Date(user.updated_at).toISOString(),
  };
}

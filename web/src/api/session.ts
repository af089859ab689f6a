import { useQuery } from '@tanstack/react-query';
import { api } from './client.ts';
import type { Profile } from './types.ts';

export const PROFILE_KEY = ['profile'] as const;

/** The signed-in user; an ApiError 401 when there is no session. */
export function useProfile() {
  return useQuery({ queryKey: PROFILE_KEY, queryFn: () => api<Profile>('/api/user/profile') });
}

export function signOut(): Promise<unknown> {
  return api('/api/auth/logout', { method: 'POST', noRefresh: true }).catch(() => undefined);
}

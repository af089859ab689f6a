import type { Selectable } from 'kysely';

/** What a favorite points at: a gallery image or a prompt template. */
export type FavoriteType = 'image' | 'prompt';

/** A user's favorite (seed 003's Favorite): unique per user, type and target. */
export interface FavoritesTable {
  id: string;
  user_id: string;
  target_type: FavoriteType;
  target_id: string;
  created_at: number;
}

export interface FavoritesTables {
  favorites: FavoritesTable;
}

export type FavoriteRow = Selectable<FavoritesTable>;

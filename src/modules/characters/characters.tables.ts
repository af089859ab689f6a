import type { Selectable } from 'kysely';

/** A user's saved face for face-lock generation (锁脸角色); `photo_count` caps its photos under races. */
export interface CharactersTable {
  id: string;
  user_id: string;
  name: string;
  description: string | null;
  photo_count: number;
  created_at: number;
  updated_at: number;
}

/** A photo of a character: an object Tollgate stored (`storage_key`) or a URL added as given (`url`). */
export interface CharacterPhotosTable {
  id: string;
  character_id: string;
  user_id: string;
  storage_key: string | null;
  url: string | null;
  content_type: string | null;
  size_bytes: number | null;
  width: number | null;
  height: number | null;
  created_at: number;
}

export interface CharactersTables {
  characters: CharactersTable;
  character_photos: CharacterPhotosTable;
}

export type CharacterRow = Selectable<CharactersTable>;
export type CharacterPhotoRow = Selectable<CharacterPhotosTable>;

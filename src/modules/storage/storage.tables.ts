import type { Selectable } from 'kysely';

/** An image a user uploaded (POST /v1/upload/image): its object and what its bytes said it is. */
export interface UploadsTable {
  id: string;
  user_id: string;
  storage_key: string;
  content_type: string;
  size_bytes: number;
  width: number;
  height: number;
  created_at: number;
}

export interface StorageTables {
  uploads: UploadsTable;
}

export type UploadRow = Selectable<UploadsTable>;

import type { Selectable } from 'kysely';

/** An image in the public gallery (seed 003's GalleryImage). */
export interface GalleryImagesTable {
  id: string;
  /** Who published it; null for the seed images. */
  user_id: string | null;
  /** The upload it shows (unique: published once); null for the seed images. */
  upload_id: string | null;
  /** The upload's object key, copied at publishing: the gallery builds the URL from it. */
  storage_key: string | null;
  /** A path Tollgate serves itself (the seed images); null for a user's image. */
  image_url: string | null;
  title: string;
  prompt: string;
  /** One of GALLERY_CATEGORIES' ids: what `?category=` filters on. */
  category: string;
  width: number;
  height: number;
  /** The number of gallery_likes rows of the image, changed in the transaction that adds or removes one. */
  like_count: number;
  status: GalleryStatus;
  created_at: number;
  updated_at: number;
}

/** `published`: listed; `unpublished`: taken down by an admin (kept, so it cannot be published again). */
export type GalleryStatus = 'published' | 'unpublished';

/** One user's like of one image; the primary key is the pair. */
export interface GalleryLikesTable {
  image_id: string;
  user_id: string;
  created_at: number;
}

export interface GalleryTables {
  gallery_images: GalleryImagesTable;
  gallery_likes: GalleryLikesTable;
}

export type GalleryImageRow = Selectable<GalleryImagesTable>;

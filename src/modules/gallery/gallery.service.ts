import type { Clock } from '#core/clock.ts';
import { AppError } from '#core/errors.ts';
import { newId } from '#core/ids.ts';
import type { StorageService, UploadView } from '#modules/storage/storage.service.ts';
import { keysetPage, type KeysetPage } from '#core/http/pagination.ts';
import { sortValue, type AuthorRow, type GalleryRepository, type GallerySort } from './gallery.repository.ts';
import { GALLERY_CATEGORIES, type GalleryImage, type GalleryListOptions, type Publish } from './gallery.schemas.ts';
import type { GalleryImageRow, GalleryImagesTable } from './gallery.tables.ts';

export interface LikeState {
  imageId: string;
  liked: boolean;
  likeCount: number;
}

/**
 * Seed 003's gallery (docs/seed-003.md, Gallery): published images newest or most liked first, by
 * category; likes whose count stays exact under concurrency; publishing one's own stored image (an
 * upload, which is also what a finished job's images are); admins taking an image down. The image
 * object always stays the owner's upload: nothing here deletes it.
 */
export class GalleryService {
  constructor(
    private readonly repository: GalleryRepository,
    private readonly storage: StorageService,
    private readonly clock: Clock,
  ) {}

  list(options: GalleryListOptions): Promise<KeysetPage<GalleryImage>> {
    const sort: GallerySort = options.sort ?? 'newest';
    return keysetPage(
      options,
      (after, offset, limit) => this.repository.list({ category: options.category, sort, after }, offset, limit),
      (row) => sortValue(sort, row),
      (rows) => this.views(rows),
    );
  }

  /** Every category, in the fixed order, with its number of published images. */
  async categories(): Promise<Array<{ id: string; name: string; nameEn: string; count: number }>> {
    const counts = await this.repository.categoryCounts();
    return GALLERY_CATEGORIES.map((c) => ({ ...c, count: counts.get(c.id) ?? 0 }));
  }

  /**
   * Publishes one of the user's own stored images, named by its upload id (`imageId`, a job's
   * `images[].id`) or by the URL Tollgate gave for it (`imageUrl`); `imageId` wins when both are sent.
   * Someone else's image or an unknown id is 404, an outside URL 400, an image already published (or
   * taken down by an admin) 409; nothing is stored then.
   */
  async publish(userId: string, body: Publish): Promise<GalleryImage> {
    const upload = await this.ownImage(userId, body);
    const now = this.clock.now();
    const row: GalleryImagesTable = {
      id: newId(now),
      user_id: userId,
      upload_id: upload.id,
      storage_key: upload.key,
      image_url: null,
      title: body.title,
      prompt: body.prompt,
      category: body.category,
      width: upload.width,
      height: upload.height,
      like_count: 0,
      status: 'published',
      created_at: now,
      updated_at: now,
    };
    await this.refuseRepublishing(upload.id);
    // A racing twin that inserted first makes this one a 409 as well.
    if (!(await this.repository.insert(row))) {
      await this.refuseRepublishing(upload.id);
      throw new AppError('GALLERY_ALREADY_PUBLISHED');
    }
    const [view] = await this.views([row]);
    return view!;
  }

  /** Published images: the user's, or everyone's (statistics). */
  countPublished(userId?: string): Promise<number> {
    return this.repository.countPublished(userId);
  }

  async like(userId: string, imageId: string): Promise<LikeState> {
    const likeCount = await this.repository.like(userId, imageId, this.clock.now());
    if (likeCount === undefined) throw new AppError('GALLERY_IMAGE_NOT_FOUND');
    return { imageId, liked: true, likeCount };
  }

  async unlike(userId: string, imageId: string): Promise<LikeState> {
    const likeCount = await this.repository.unlike(userId, imageId);
    if (likeCount === undefined) throw new AppError('GALLERY_IMAGE_NOT_FOUND');
    return { imageId, liked: false, likeCount };
  }

  /** Takes a published image down (admins); the image before and after, for the audit row. 404 when none is published. */
  async unpublish(id: string): Promise<{ before: GalleryImage; after: GalleryImage }> {
    const row = await this.repository.find(id);
    if (!row || row.status !== 'published') throw new AppError('GALLERY_IMAGE_NOT_FOUND');
    const now = this.clock.now();
    // Two admins at once: one takes it down, the other finds it gone.
    if (!(await this.repository.takeDown(id, now))) throw new AppError('GALLERY_IMAGE_NOT_FOUND');
    const [before] = await this.views([row]);
    const [after] = await this.views([{ ...row, status: 'unpublished', updated_at: now }]);
    return { before: before!, after: after! };
  }

  /** The published images among `ids` (what a favorite shows), by id. */
  async publishedViews(ids: readonly string[]): Promise<Map<string, GalleryImage>> {
    const views = await this.views(await this.repository.findPublished([...new Set(ids)]));
    return new Map(views.map((view) => [view.id, view]));
  }

  /** 404 unless the image is published (favoriting one). */
  async requirePublished(id: string): Promise<void> {
    if ((await this.repository.findPublished([id])).length === 0) throw new AppError('GALLERY_IMAGE_NOT_FOUND');
  }

  private async ownImage(userId: string, body: Publish): Promise<UploadView> {
    if (body.imageId !== undefined) {
      const upload = await this.storage.findUpload(userId, body.imageId);
      if (!upload) throw new AppError('GALLERY_SOURCE_NOT_FOUND');
      return upload;
    }
    if (body.imageUrl !== undefined) {
      const upload = await this.storage.findUploadByUrl(userId, body.imageUrl);
      if (!upload) throw new AppError('GALLERY_IMAGE_URL_INVALID');
      return upload;
    }
    throw new AppError('GALLERY_SOURCE_REQUIRED');
  }

  private async refuseRepublishing(uploadId: string): Promise<void> {
    const existing = await this.repository.findByUpload(uploadId);
    if (!existing) return;
    if (existing.status === 'published')
      throw new AppError('GALLERY_ALREADY_PUBLISHED', {}, { galleryImageId: existing.id });
    throw new AppError('GALLERY_IMAGE_TAKEN_DOWN');
  }

  private async views(rows: readonly GalleryImageRow[]): Promise<GalleryImage[]> {
    const ids = [...new Set(rows.flatMap((row) => (row.user_id ? [row.user_id] : [])))];
    const authors = new Map((await this.repository.authors(ids)).map((a): [string, AuthorRow] => [a.id, a]));
    return rows.map((row) => {
      const author = row.user_id ? authors.get(row.user_id) : undefined;
      return {
        id: row.id,
        imageUrl: row.storage_key ? this.storage.url(row.storage_key) : (row.image_url ?? ''),
        title: row.title,
        prompt: row.prompt,
        category: row.category,
        width: Number(row.width),
        height: Number(row.height),
        likeCount: Number(row.like_count),
        status: row.status,
        author: author ? { nickname: author.nickname, avatarUrl: author.avatar_url } : null,
        createdAt: new Date(Number(row.created_at)).toISOString(),
      };
    });
  }
}

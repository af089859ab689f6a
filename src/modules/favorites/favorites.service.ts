import type { Clock } from '#core/clock.ts';
import { AppError } from '#core/errors.ts';
import { newId } from '#core/ids.ts';
import { keysetPage, type KeysetPage } from '#core/http/pagination.ts';
import type { GalleryService } from '#modules/gallery/gallery.service.ts';
import type { PromptTemplate } from '#modules/templates/templates.schemas.ts';
import type { TemplatesService } from '#modules/templates/templates.service.ts';
import type { FavoritesRepository } from './favorites.repository.ts';
import type { AddFavorite, Favorite, FavoriteListOptions } from './favorites.schemas.ts';
import type { FavoriteRow, FavoriteType } from './favorites.tables.ts';

/**
 * Seed 003's favorites (docs/seed-003.md, Favorites): a user's gallery images and prompt templates.
 * Adding one twice gives the same favorite; a favorite of something that does not exist (or that users
 * cannot see: an image taken down, a hidden template) is 404; another user's favorite is 404.
 */
export class FavoritesService {
  constructor(
    private readonly repository: FavoritesRepository,
    private readonly gallery: GalleryService,
    private readonly templates: TemplatesService,
    private readonly clock: Clock,
  ) {}

  /** The user's favorites by type (statistics). */
  countsByType(userId: string): Promise<Map<FavoriteType, number>> {
    return this.repository.countsByType(userId);
  }

  /** The favorite, and whether this call made it (false: the user had it already). */
  async add(userId: string, body: AddFavorite): Promise<{ favorite: Favorite; created: boolean }> {
    await this.requireTarget(body.type, body.targetId);
    const existing = await this.repository.findByTarget(userId, body.type, body.targetId);
    if (existing) return { favorite: (await this.views([existing]))[0]!, created: false };
    const row: FavoriteRow = {
      id: newId(this.clock.now()),
      user_id: userId,
      target_type: body.type,
      target_id: body.targetId,
      created_at: this.clock.now(),
    };
    if (await this.repository.insert(row)) return { favorite: (await this.views([row]))[0]!, created: true };
    // A racing twin inserted it first: its row is the favorite.
    const twin = await this.repository.findByTarget(userId, body.type, body.targetId);
    if (!twin) throw new AppError('FAVORITE_NOT_FOUND');
    return { favorite: (await this.views([twin]))[0]!, created: false };
  }

  async remove(userId: string, id: string): Promise<{ id: string; deleted: true }> {
    if (!(await this.repository.delete(userId, id))) throw new AppError('FAVORITE_NOT_FOUND');
    return { id, deleted: true };
  }

  async check(
    userId: string,
    type: FavoriteType,
    targetId: string,
  ): Promise<{ favorited: boolean; favoriteId: string | null }> {
    const row = await this.repository.findByTarget(userId, type, targetId);
    return { favorited: row !== undefined, favoriteId: row?.id ?? null };
  }

  list(userId: string, options: FavoriteListOptions): Promise<KeysetPage<Favorite>> {
    return keysetPage(
      options,
      (before, offset, limit) => this.repository.list(userId, options.type, before, offset, limit),
      (row) => Number(row.created_at),
      (rows) => this.views(rows),
    );
  }

  private async requireTarget(type: FavoriteType, id: string): Promise<void> {
    if (type === 'image') await this.gallery.requirePublished(id);
    else await this.templates.promptTemplate(id);
  }

  /** The prompt template as users see it, or null when it was deleted or hidden. */
  private async promptOrNull(id: string): Promise<PromptTemplate | null> {
    try {
      return await this.templates.promptTemplate(id);
    } catch (error) {
      if (error instanceof AppError && error.code === 'PROMPT_TEMPLATE_NOT_FOUND') return null;
      throw error;
    }
  }

  /** Each favorite with what it points at now (null when that is gone). */
  private async views(rows: readonly FavoriteRow[]): Promise<Favorite[]> {
    const images = await this.gallery.publishedViews(
      rows.filter((row) => row.target_type === 'image').map((row) => row.target_id),
    );
    const prompts = new Map<string, PromptTemplate | null>();
    for (const row of rows) {
      if (row.target_type !== 'prompt' || prompts.has(row.target_id)) continue;
      prompts.set(row.target_id, await this.promptOrNull(row.target_id));
    }
    return rows.map((row) => ({
      id: row.id,
      type: row.target_type,
      targetId: row.target_id,
      target: (row.target_type === 'image' ? images.get(row.target_id) : prompts.get(row.target_id)) ?? null,
      createdAt: new Date(Number(row.created_at)).toISOString(),
    }));
  }
}

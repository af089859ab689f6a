import { BlockList, isIP } from 'node:net';
import type { Kysely } from 'kysely';
import type { Clock } from '#core/clock.ts';
import type { DB } from '#core/db/schema.ts';
import { transact } from '#core/db/transaction.ts';
import { AppError } from '#core/errors.ts';
import { keysetPage } from '#core/http/pagination.ts';
import { newId } from '#core/ids.ts';
import type { StorageService } from '#modules/storage/storage.service.ts';
import type { CharactersRepository } from './characters.repository.ts';
import type { CharacterPhotoRow, CharacterRow } from './characters.tables.ts';

export interface PhotoView {
  id: string;
  characterId: string;
  url: string;
  /** `upload`: an image Tollgate stored (removed with the photo); `url`: a URL added as given. */
  source: 'upload' | 'url';
  contentType: string | null;
  size: number | null;
  width: number | null;
  height: number | null;
  createdAt: string;
}

export interface CharacterView {
  id: string;
  name: string;
  description: string | null;
  photoCount: number;
  photos: PhotoView[];
  createdAt: string;
  updatedAt: string;
}

/** Addresses a photo URL may not point at: loopback, private, link-local, CGNAT, unique-local. */
const PRIVATE = new BlockList();
for (const [net, bits] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.168.0.0', 16],
] as const)
  PRIVATE.addSubnet(net, bits, 'ipv4');
for (const [net, bits] of [
  ['::', 127],
  ['fc00::', 7],
  ['fe80::', 10],
  ['::ffff:0:0', 96],
] as const)
  PRIVATE.addSubnet(net, bits, 'ipv6');
const INTERNAL_HOST = /(^|\.)(localhost|local|internal|localdomain|home|lan)$/i;

/** A photo URL as it is kept: https, public host, no credentials, at most 2048 characters. */
export function checkPhotoUrl(text: string): string {
  const refuse = (detail: string) => new AppError('PHOTO_URL_INVALID', { detail });
  if (text.length > 2048) throw refuse('longer than 2048 characters');
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw refuse('not a URL');
  }
  if (url.protocol !== 'https:') throw refuse('only https is accepted');
  if (url.username || url.password) throw refuse('credentials in the URL');
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const family = isIP(host);
  if (
    family !== 0 ? PRIVATE.check(host, family === 4 ? 'ipv4' : 'ipv6') : INTERNAL_HOST.test(host) || !host.includes('.')
  )
    throw refuse('not a public host');
  return url.href;
}

/**
 * Face-lock characters (seed 003, 锁脸角色): a user's saved faces, each with at most `maxPhotos`
 * photos, uploaded (stored in object storage) or added by URL (kept as given). Only the owner sees or
 * touches one: anyone else gets 404, as for one that does not exist.
 */
export class CharactersService {
  constructor(
    private readonly db: Kysely<DB>,
    private readonly repository: CharactersRepository,
    private readonly storage: StorageService,
    private readonly clock: Clock,
    readonly maxPhotos: number,
  ) {}

  list(userId: string, query: { page: number; limit: number; cursor?: string | undefined }) {
    return keysetPage(
      query,
      (before, offset, limit) => this.repository.list(userId, before, offset, limit),
      (row) => Number(row.created_at),
      (rows) => this.views(rows),
    );
  }

  async create(userId: string, input: { name: string; description?: string | undefined }): Promise<CharacterView> {
    const now = this.clock.now();
    const row: CharacterRow = {
      id: newId(now),
      user_id: userId,
      name: input.name.trim(),
      description: input.description?.trim() || null,
      photo_count: 0,
      created_at: now,
      updated_at: now,
    };
    await this.repository.insert(row);
    return this.view(row, []);
  }

  async get(userId: string, id: string): Promise<CharacterView> {
    const row = await this.owned(userId, id);
    return this.view(row, await this.repository.photosOf([row.id]));
  }

  async update(
    userId: string,
    id: string,
    patch: { name?: string | undefined; description?: string | null | undefined },
  ): Promise<CharacterView> {
    const changes = {
      ...(patch.name === undefined ? {} : { name: patch.name.trim() }),
      ...(patch.description === undefined ? {} : { description: patch.description?.trim() || null }),
      updated_at: this.clock.now(),
    };
    if (!(await this.repository.update(userId, id, changes))) throw new AppError('CHARACTER_NOT_FOUND');
    return this.get(userId, id);
  }

  /** Deletes the character, its photos, then their objects. */
  async delete(userId: string, id: string): Promise<void> {
    const keys = await transact(this.db, (trx) => this.repository.delete(userId, id, trx));
    if (!keys) throw new AppError('CHARACTER_NOT_FOUND');
    await Promise.all(keys.map((key) => this.storage.remove(key)));
  }

  /** A photo from base64: checked, stored, then given a place; a refused or failed one leaves no object. */
  async uploadPhoto(userId: string, characterId: string, base64: string): Promise<PhotoView> {
    const bytes = this.storage.decodeBase64(base64);
    this.storage.checkImage(bytes);
    const character = await this.owned(userId, characterId);
    if (character.photo_count >= this.maxPhotos) throw this.full();
    const saved = await this.storage.saveImage('characters', bytes);
    const now = this.clock.now();
    const row: CharacterPhotoRow = {
      id: newId(now),
      character_id: characterId,
      user_id: userId,
      storage_key: saved.key,
      url: null,
      content_type: saved.contentType,
      size_bytes: saved.size,
      width: saved.width,
      height: saved.height,
      created_at: now,
    };
    try {
      await this.place(userId, row);
    } catch (error) {
      await this.storage.remove(saved.key);
      throw error;
    }
    return this.photoView(row);
  }

  /** A photo by URL: https to a public host, kept as given (no object is made). */
  async addPhotoUrl(userId: string, characterId: string, url: string): Promise<PhotoView> {
    const checked = checkPhotoUrl(url);
    await this.owned(userId, characterId);
    const now = this.clock.now();
    const row: CharacterPhotoRow = {
      id: newId(now),
      character_id: characterId,
      user_id: userId,
      storage_key: null,
      url: checked,
      content_type: null,
      size_bytes: null,
      width: null,
      height: null,
      created_at: now,
    };
    await this.place(userId, row);
    return this.photoView(row);
  }

  async getPhoto(userId: string, characterId: string, photoId: string): Promise<PhotoView> {
    const row = await this.repository.findPhoto(userId, characterId, photoId);
    if (!row) throw new AppError('PHOTO_NOT_FOUND');
    return this.photoView(row);
  }

  /** Deletes the photo (its place is given back), then its object. */
  async deletePhoto(userId: string, characterId: string, photoId: string): Promise<void> {
    const row = await this.repository.findPhoto(userId, characterId, photoId);
    if (!row) throw new AppError('PHOTO_NOT_FOUND');
    const deleted = await transact(this.db, (trx) =>
      this.repository.deletePhoto(userId, characterId, photoId, this.clock.now(), trx),
    );
    if (!deleted) throw new AppError('PHOTO_NOT_FOUND');
    if (row.storage_key) await this.storage.remove(row.storage_key);
  }

  /** The photo URLs of a user's character (for face-lock generation); 404 when it is not theirs. */
  async photoUrls(userId: string, characterId: string): Promise<string[]> {
    const character = await this.owned(userId, characterId);
    return (await this.repository.photosOf([character.id])).map((p) => this.photoUrl(p));
  }

  private async place(userId: string, row: CharacterPhotoRow): Promise<void> {
    await transact(this.db, async (trx) => {
      if (!(await this.repository.takePhotoPlace(userId, row.character_id, this.maxPhotos, row.created_at, trx))) {
        // Gone meanwhile, or full: which one decides the answer.
        if (!(await this.repository.find(userId, row.character_id, trx))) throw new AppError('CHARACTER_NOT_FOUND');
        throw this.full();
      }
      await this.repository.insertPhoto(row, trx);
    });
  }

  private full(): AppError {
    return new AppError('CHARACTER_PHOTO_LIMIT', { max: this.maxPhotos });
  }

  private async owned(userId: string, id: string): Promise<CharacterRow> {
    const row = await this.repository.find(userId, id);
    if (!row) throw new AppError('CHARACTER_NOT_FOUND');
    return row;
  }

  private async views(rows: CharacterRow[]): Promise<CharacterView[]> {
    const photos = await this.repository.photosOf(rows.map((r) => r.id));
    return rows.map((row) =>
      this.view(
        row,
        photos.filter((p) => p.character_id === row.id),
      ),
    );
  }

  private view(row: CharacterRow, photos: CharacterPhotoRow[]): CharacterView {
    return {
      id: row.id,
      name: row.name,
      description: row.description,
      photoCount: photos.length,
      photos: photos.map((p) => this.photoView(p)),
      createdAt: new Date(Number(row.created_at)).toISOString(),
      updatedAt: new Date(Number(row.updated_at)).toISOString(),
    };
  }

  private photoUrl(row: CharacterPhotoRow): string {
    return row.storage_key ? this.storage.url(row.storage_key) : (row.url ?? '');
  }

  private photoView(row: CharacterPhotoRow): PhotoView {
    return {
      id: row.id,
      characterId: row.character_id,
      url: this.photoUrl(row),
      source: row.storage_key ? 'upload' : 'url',
      contentType: row.content_type,
      size: row.size_bytes === null ? null : Number(row.size_bytes),
      width: row.width,
      height: row.height,
      createdAt: new Date(Number(row.created_at)).toISOString(),
    };
  }
}

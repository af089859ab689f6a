import type { FastifyBaseLogger } from 'fastify';
import type { Clock } from '#core/clock.ts';
import { AppError } from '#core/errors.ts';
import { newId } from '#core/ids.ts';
import { sniffImage, type SniffedImage } from './image-sniff.ts';
import { isObjectKey, objectKey, type StorageDriver, type StoredObject } from './storage.driver.ts';
import type { StorageRepository } from './storage.repository.ts';

export interface StorageLimits {
  /** The largest image, in bytes. */
  maxBytes: number;
  /** The most pixels (width × height) an image may have: a small file may declare a huge canvas. */
  maxPixels: number;
}

/** An image written to storage: its key and what its bytes said it is. */
export interface SavedImage {
  key: string;
  url: string;
  contentType: string;
  size: number;
  width: number;
  height: number;
}

export interface UploadView extends SavedImage {
  id: string;
  createdAt: string;
}

/** Base64 as a JSON field carries it: optionally a `data:image/…;base64,` URL, whitespace allowed. */
const DATA_URL = /^data:[\w.+-]+\/[\w.+-]+;base64,/i;
const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/;

/**
 * Images in object storage (docs/storage.md): each is sniffed and measured from its bytes, refused with a
 * clear 4xx before anything is written when it is no PNG, JPEG, WebP or GIF, too big or too many
 * pixels, and stored under a key Tollgate makes, with the sniffed type. A request that wrote an object and
 * then failed removes it.
 */
export class StorageService {
  constructor(
    readonly driver: StorageDriver,
    private readonly repository: StorageRepository,
    private readonly clock: Clock,
    readonly limits: StorageLimits,
    private readonly publicBase: string,
    private readonly logger: FastifyBaseLogger,
  ) {}

  /** The URL a client fetches the object at. */
  url(key: string): string {
    return `${this.publicBase.replace(/\/+$/, '')}/${key}`;
  }

  /** The image in a base64 text (a data URL or bare base64), checked against the size limit before decoding. */
  decodeBase64(text: string): Buffer {
    const data = text.replace(DATA_URL, '').replace(/\s+/g, '');
    if (data.length === 0) throw new AppError('IMAGE_REQUIRED');
    if (data.length > Math.ceil(this.limits.maxBytes / 3) * 4 + 4)
      throw new AppError('IMAGE_TOO_LARGE', { max: this.limits.maxBytes });
    if (!BASE64.test(data) || data.length % 4 === 1) throw new AppError('INVALID_BASE64');
    return Buffer.from(data, data.includes('-') || data.includes('_') ? 'base64url' : 'base64');
  }

  /** What the bytes are, or the 4xx that says why they are not an image Tollgate keeps. */
  checkImage(bytes: Buffer): SniffedImage {
    if (bytes.length === 0) throw new AppError('IMAGE_REQUIRED');
    if (bytes.length > this.limits.maxBytes) throw new AppError('IMAGE_TOO_LARGE', { max: this.limits.maxBytes });
    const image = sniffImage(bytes);
    if (image === 'unsupported') throw new AppError('UNSUPPORTED_IMAGE_TYPE');
    if (image === 'corrupt') throw new AppError('IMAGE_CORRUPT');
    if (image.width * image.height > this.limits.maxPixels)
      throw new AppError('IMAGE_TOO_MANY_PIXELS', {
        width: image.width,
        height: image.height,
        max: this.limits.maxPixels,
      });
    return image;
  }

  /** Checks the image and writes it under a new key in `folder`; 503 when storage fails (nothing kept). */
  async saveImage(folder: string, bytes: Buffer): Promise<SavedImage> {
    const image = this.checkImage(bytes);
    const key = objectKey(folder, newId(this.clock.now()), image.ext, this.clock.now());
    try {
      await this.driver.put(key, bytes, image.contentType);
    } catch (error) {
      this.logger.error({ err: error, key }, 'object storage refused a write');
      await this.remove(key); // a write that failed half-way may still have left it
      throw new AppError('STORAGE_UNAVAILABLE');
    }
    return {
      key,
      url: this.url(key),
      contentType: image.contentType,
      size: bytes.length,
      width: image.width,
      height: image.height,
    };
  }

  /** Removes an object; a failure is logged (the object is then an orphan), never thrown. */
  async remove(key: string): Promise<void> {
    try {
      await this.driver.delete(key);
    } catch (error) {
      this.logger.error({ err: error, key }, 'an object could not be removed from storage; it is left orphaned');
    }
  }

  /** An object for GET /uploads/…; undefined for a key Tollgate never makes or an object that is not there. */
  async read(key: string): Promise<StoredObject | undefined> {
    if (!isObjectKey(key)) return undefined;
    try {
      return await this.driver.get(key);
    } catch (error) {
      this.logger.error({ err: error, key }, 'object storage refused a read');
      throw new AppError('STORAGE_UNAVAILABLE');
    }
  }

  /**
   * POST /v1/upload/image: the image stored and recorded as the user's; the object is removed if recording
   * fails. `folder`: where its object goes (`jobs` for an image job's results).
   */
  async upload(userId: string, bytes: Buffer, folder = 'images'): Promise<UploadView> {
    const saved = await this.saveImage(folder, bytes);
    const row = {
      id: newId(this.clock.now()),
      user_id: userId,
      storage_key: saved.key,
      content_type: saved.contentType,
      size_bytes: saved.size,
      width: saved.width,
      height: saved.height,
      created_at: this.clock.now(),
    };
    try {
      await this.repository.insertUpload(row);
    } catch (error) {
      await this.remove(saved.key);
      throw error;
    }
    return { id: row.id, ...saved, createdAt: new Date(row.created_at).toISOString() };
  }

  /** One of the user's uploads (for publishing it later), or undefined. */
  async findUpload(userId: string, id: string): Promise<UploadView | undefined> {
    const row = await this.repository.findUpload(userId, id);
    if (!row) return undefined;
    return {
      id: row.id,
      key: row.storage_key,
      url: this.url(row.storage_key),
      contentType: row.content_type,
      size: row.size_bytes,
      width: row.width,
      height: row.height,
      createdAt: new Date(row.created_at).toISOString(),
    };
  }

  /**
   * The user's upload that `url` names, when it is a URL Tollgate gave for one of the user's uploads
   * (`url(key)`; with the default `/uploads` base, the same path on any host); undefined otherwise (an
   * outside URL, a key Tollgate never makes, someone else's upload).
   */
  async findUploadByUrl(userId: string, url: string): Promise<UploadView | undefined> {
    const base = this.publicBase.replace(/\/+$/, '');
    let rest: string | undefined;
    if (url.startsWith(`${base}/`)) rest = url.slice(base.length + 1);
    else if (base.startsWith('/')) {
      try {
        const path = new URL(url).pathname;
        if (path.startsWith(`${base}/`)) rest = path.slice(base.length + 1);
      } catch {
        // not an absolute URL: only the base itself could name an upload
      }
    }
    if (rest === undefined || !isObjectKey(rest)) return undefined;
    const row = await this.repository.findUploadByKey(userId, rest);
    return row ? this.findUpload(userId, row.id) : undefined;
  }
}

import type { FastifyBaseLogger } from 'fastify';
import { request } from 'undici';
import { AppError } from '#core/errors.ts';
import type { StorageService } from '#modules/storage/storage.service.ts';

/** A job's image as its answers show it: the upload Tollgate keeps (owned by the job's user). */
export interface JobImage {
  /** The upload id: the gallery publishes an image by it. */
  id: string;
  url: string;
  width: number;
  height: number;
}

/**
 * Copies a finished job's images from the upstream's URLs (which expire) into Tollgate's object storage,
 * each as an upload of the job's user in the `jobs` folder. An image that cannot be fetched, is no image
 * or is too big is left out and logged: the job is charged for the images it delivers.
 */
export class JobImageCopier {
  constructor(
    private readonly storage: StorageService,
    private readonly logger: FastifyBaseLogger,
    private readonly timeoutMs: number,
  ) {}

  async copyAll(userId: string, jobId: string, urls: readonly string[]): Promise<JobImage[]> {
    const copied: JobImage[] = [];
    // One at a time: a job has at most a handful, and storage is spared a burst.
    for (const url of urls) {
      const image = await this.copy(userId, jobId, url);
      if (image) copied.push(image);
    }
    return copied;
  }

  private async copy(userId: string, jobId: string, url: string): Promise<JobImage | undefined> {
    let bytes: Buffer;
    try {
      bytes = await this.download(url);
    } catch (error) {
      this.logger.warn({ err: error, jobId, url }, 'image job: an image could not be fetched; it is left out');
      return undefined;
    }
    try {
      const upload = await this.storage.upload(userId, bytes, 'jobs');
      return { id: upload.id, url: upload.url, width: upload.width, height: upload.height };
    } catch (error) {
      // Not an image (or too big): left out. Storage away: thrown, so the job is looked at again later.
      if (error instanceof AppError && error.code === 'STORAGE_UNAVAILABLE') throw error;
      this.logger.warn({ err: error, jobId, url }, 'image job: the upstream gave something that is not an image');
      return undefined;
    }
  }

  /** The bytes at `url`, at most the storage's largest image (a bigger body is refused before it is read whole). */
  private async download(url: string): Promise<Buffer> {
    const max = this.storage.limits.maxBytes;
    // No redirects are followed (undici's request does not): an image is where the upstream said.
    const response = await request(url, { method: 'GET', headersTimeout: this.timeoutMs, bodyTimeout: this.timeoutMs });
    if (response.statusCode !== 200) {
      await response.body.dump();
      throw new Error(`HTTP ${response.statusCode}`);
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of response.body) {
      size += (chunk as Buffer).length;
      if (size > max) {
        response.body.destroy();
        throw new Error(`larger than ${max} bytes`);
      }
      chunks.push(chunk as Buffer);
    }
    return Buffer.concat(chunks);
  }
}

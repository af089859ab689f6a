/**
 * Where Tollgate keeps objects (uploaded images, character photos, later the images of finished jobs):
 * local disk or an S3-compatible store, behind one interface (docs/storage.md). Keys are made by
 * Tollgate only (`objectKey`), never taken from a client: a key a request names is checked with
 * `isObjectKey` before any driver sees it.
 */
export interface StoredObject {
  body: Buffer;
  contentType: string;
}

export interface StorageDriver {
  readonly kind: 'local' | 's3';
  /** Writes the object (replacing one with the same key). */
  put(key: string, body: Buffer, contentType: string): Promise<void>;
  /** The object, or undefined when there is none. */
  get(key: string): Promise<StoredObject | undefined>;
  /** Removes the object; removing one that is not there is not an error. */
  delete(key: string): Promise<void>;
  /** The keys under `prefix` (for checks and sweeps; not on any request path). */
  list(prefix: string): Promise<string[]>;
  close(): Promise<void>;
}

/** `<folder>/<yyyy>/<mm>/<uuid>.<ext>`: lower-case letters, digits and dashes only. */
const KEY = /^[a-z]+(?:\/[0-9]{4}\/[0-9]{2})\/[0-9a-f-]{36}\.(?:png|jpg|webp|gif)$/;

export function isObjectKey(key: string): boolean {
  return KEY.test(key);
}

/** A fresh key for an object of `ext` in `folder` (`images`, `characters`, …), dated by `now`. */
export function objectKey(folder: string, id: string, ext: string, now: number): string {
  const date = new Date(now);
  const month = String(date.getUTCMonth() + 1).padStart(2, '0');
  return `${folder}/${date.getUTCFullYear()}/${month}/${id}.${ext}`;
}

/** The Content-Type of a key, from the extension Tollgate gave it after sniffing the bytes. */
export function contentTypeOfKey(key: string): string {
  const ext = key.slice(key.lastIndexOf('.') + 1);
  return EXT_TYPES[ext] ?? 'application/octet-stream';
}

const EXT_TYPES: Record<string, string> = {
  png: 'image/png',
  jpg: 'image/jpeg',
  webp: 'image/webp',
  gif: 'image/gif',
};

import { join } from 'node:path';
import type { Config } from '#core/config.ts';
import { LocalDriver } from './local.driver.ts';
import { S3Driver } from './s3.driver.ts';
import type { StorageDriver } from './storage.driver.ts';

/** Where Tollgate serves objects itself (GET /uploads/<key>), whatever the driver. */
export const UPLOADS_PREFIX = '/uploads';

/** The driver the configuration asks for (config.ts has checked that it is complete). */
export function createStorageDriver(config: Config): StorageDriver {
  if (config.storageDriver === 'local') return new LocalDriver(join(config.DATA_DIR, 'uploads'));
  return new S3Driver({
    bucket: config.R2_BUCKET_NAME!,
    endpoint: config.S3_ENDPOINT,
    accountId: config.R2_ACCOUNT_ID,
    region: config.S3_REGION,
    accessKeyId: config.R2_ACCESS_KEY_ID,
    secretAccessKey: config.R2_SECRET_ACCESS_KEY,
    forcePathStyle: config.S3_FORCE_PATH_STYLE,
  });
}

/** Where object URLs start: STORAGE_PUBLIC_URL, else R2_PUBLIC_URL with s3, else Tollgate's own /uploads. */
export function publicBaseOf(config: Config): string {
  return (
    config.STORAGE_PUBLIC_URL ?? (config.storageDriver === 's3' ? config.R2_PUBLIC_URL : undefined) ?? UPLOADS_PREFIX
  );
}

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '#core/config.ts';
import { publicBaseOf } from '#modules/storage/storage.factory.ts';
import { TEST_SECRETS } from '#test/helpers/test-app.ts';

const dir = mkdtempSync(join(tmpdir(), 'tollgate-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const load = (env: Record<string, string>) => loadConfig({ DATA_DIR: dir, ...TEST_SECRETS, ...env });
const R2 = {
  R2_ACCOUNT_ID: 'abc123',
  R2_ACCESS_KEY_ID: 'key-id',
  R2_SECRET_ACCESS_KEY: 'very-secret-value',
  R2_BUCKET_NAME: 'dream-wechat-assets',
  R2_PUBLIC_URL: 'https://assets.example.com',
};

function refusal(env: Record<string, string>): string {
  try {
    load(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('accepted');
}

describe('storage configuration', () => {
  it('is local disk by default, served by Tollgate under /uploads', () => {
    const config = load({});
    expect(config.storageDriver).toBe('local');
    expect(publicBaseOf(config)).toBe('/uploads');
    expect(config.UPLOAD_MAX_BYTES).toBe(10 * 1024 * 1024);
    expect(config.CHARACTER_MAX_PHOTOS).toBe(10);
  });

  it("reads seed 003's complete R2_* settings as the s3 driver on R2, with its public URL, and says so", () => {
    const config = load(R2);
    expect(config.storageDriver).toBe('s3');
    expect(publicBaseOf(config)).toBe('https://assets.example.com');
    expect(config.warnings.join('\n')).toMatch(/STORAGE_DRIVER is unset and R2_\* are complete/);
  });

  it('STORAGE_DRIVER=local wins over R2_* (with a warning), and STORAGE_PUBLIC_URL over R2_PUBLIC_URL', () => {
    const local = load({ ...R2, STORAGE_DRIVER: 'local' });
    expect(local.storageDriver).toBe('local');
    expect(local.warnings.join('\n')).toMatch(/STORAGE_DRIVER=local/);
    expect(publicBaseOf(load({ ...R2, STORAGE_PUBLIC_URL: 'https://cdn.example.com/x' }))).toBe(
      'https://cdn.example.com/x',
    );
  });

  it('a half-configured s3 stops the start naming what is missing, never echoing the secret', () => {
    expect(refusal({ STORAGE_DRIVER: 's3' })).toMatch(/R2_BUCKET_NAME/);
    expect(refusal({ STORAGE_DRIVER: 's3', R2_BUCKET_NAME: 'b-1', R2_ACCESS_KEY_ID: 'k' })).toMatch(
      /R2_ACCESS_KEY_ID and R2_SECRET_ACCESS_KEY together/,
    );
    expect(refusal({ STORAGE_DRIVER: 's3', R2_BUCKET_NAME: 'b-1' })).toMatch(/S3_ENDPOINT, R2_ACCOUNT_ID .* S3_REGION/);
    expect(refusal({ STORAGE_DRIVER: 'gcs' })).toMatch(/STORAGE_DRIVER must be one of local, s3/);
    const message = refusal({ ...R2, R2_SECRET_ACCESS_KEY: 'very-secret-value', R2_BUCKET_NAME: 'Bad_Bucket' });
    expect(message).toMatch(/R2_BUCKET_NAME/);
    expect(message).not.toContain('very-secret-value');
  });

  it('MinIO or AWS: an endpoint or a region instead of an R2 account', () => {
    expect(
      load({ STORAGE_DRIVER: 's3', R2_BUCKET_NAME: 'b-1', S3_ENDPOINT: 'http://127.0.0.1:9000' }).storageDriver,
    ).toBe('s3');
    expect(load({ STORAGE_DRIVER: 's3', R2_BUCKET_NAME: 'b-1', S3_REGION: 'ap-east-1' }).storageDriver).toBe('s3');
  });
});

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import S3rver from 's3rver';

/**
 * A real S3-protocol server (s3rver) on a free port, keeping its objects in a temporary folder, with one
 * bucket. `env` is the configuration that points Tollgate's s3 driver at it. s3rver checks the access
 * key id (S3RVER) but not signatures, so it tests the protocol, not the credentials.
 */
export interface S3TestServer {
  endpoint: string;
  bucket: string;
  env: Record<string, string>;
  close(): Promise<void>;
}

export async function startS3Server(bucket = 'tollgate-test'): Promise<S3TestServer> {
  const directory = mkdtempSync(join(tmpdir(), 'tollgate-s3-'));
  const server = new S3rver({
    port: 0,
    address: '127.0.0.1',
    silent: true,
    directory,
    configureBuckets: [{ name: bucket }],
  });
  const { port } = await server.run();
  const endpoint = `http://127.0.0.1:${port}`;
  return {
    endpoint,
    bucket,
    env: {
      STORAGE_DRIVER: 's3',
      S3_ENDPOINT: endpoint,
      S3_REGION: 'us-east-1',
      S3_FORCE_PATH_STYLE: 'true',
      R2_BUCKET_NAME: bucket,
      R2_ACCESS_KEY_ID: 'S3RVER',
      R2_SECRET_ACCESS_KEY: 'S3RVER',
    },
    async close() {
      await server.close();
      rmSync(directory, { recursive: true, force: true });
    },
  };
}

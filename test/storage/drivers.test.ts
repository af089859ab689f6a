import { mkdtempSync, rmSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalDriver } from '#modules/storage/local.driver.ts';
import { S3Driver } from '#modules/storage/s3.driver.ts';
import { isObjectKey, objectKey, type StorageDriver } from '#modules/storage/storage.driver.ts';
import { startS3Server, type S3TestServer } from '#test/helpers/s3-server.ts';
import { gif, jpeg, png, webp } from './images.ts';

// Every storage behaviour on local disk and on a real S3-protocol server (s3rver) on a free port.
const kinds = [
  { label: 'local disk', kind: 'local' as const },
  { label: 's3 (s3rver)', kind: 's3' as const },
];

let n = 0;
const key = (ext: string) =>
  objectKey('images', `0190a0a0-0000-7000-8000-${String(++n).padStart(12, '0')}`, ext, Date.UTC(2026, 11, 7));

describe.each(kinds)('storage driver on $label', ({ kind }) => {
  let driver: StorageDriver;
  let server: S3TestServer | undefined;
  let root: string | undefined;

  beforeAll(async () => {
    if (kind === 'local') {
      root = mkdtempSync(join(tmpdir(), 'tollgate-uploads-'));
      driver = new LocalDriver(root);
    } else {
      server = await startS3Server();
      driver = new S3Driver({
        bucket: server.bucket,
        endpoint: server.endpoint,
        region: 'us-east-1',
        accessKeyId: 'S3RVER',
        secretAccessKey: 'S3RVER',
        forcePathStyle: true,
      });
    }
  });
  afterAll(async () => {
    await driver?.close();
    await server?.close();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('gives back exactly the bytes it was given, with the type of its key', async () => {
    for (const [bytes, ext, type] of [
      [png(40, 30), 'png', 'image/png'],
      [jpeg(), 'jpg', 'image/jpeg'],
      [webp.lossless, 'webp', 'image/webp'],
      [gif(), 'gif', 'image/gif'],
    ] as const) {
      const k = key(ext);
      await driver.put(k, bytes, type);
      const got = await driver.get(k);
      expect(got?.contentType).toBe(type);
      // No aws-chunked framing or checksum trailer inside the object (a known trap of default checksums).
      expect(Buffer.compare(got!.body, bytes)).toBe(0);
    }
  });

  it('a missing object is undefined, and deleting it (twice) is not an error', async () => {
    const k = key('png');
    expect(await driver.get(k)).toBeUndefined();
    await driver.put(k, png(), 'image/png');
    await driver.delete(k);
    await driver.delete(k);
    expect(await driver.get(k)).toBeUndefined();
    expect(await driver.list('images/')).not.toContain(k);
  });

  it('lists the keys under a prefix', async () => {
    const a = objectKey('characters', '0190a0a0-0000-7000-8000-aaaaaaaaaaaa', 'png', Date.UTC(2026, 0, 5));
    const b = objectKey('characters', '0190a0a0-0000-7000-8000-bbbbbbbbbbbb', 'jpg', Date.UTC(2026, 11, 5));
    await driver.put(a, png(), 'image/png');
    await driver.put(b, jpeg(), 'image/jpeg');
    expect(await driver.list('characters/')).toEqual([a, b]);
    expect(await driver.list('nothing-here/')).toEqual([]);
  });

  it('a write replaces the object of the same key', async () => {
    const k = key('png');
    await driver.put(k, png(1, 1), 'image/png');
    await driver.put(k, png(2, 2), 'image/png');
    expect(Buffer.compare((await driver.get(k))!.body, png(2, 2))).toBe(0);
  });
});

describe('object keys', () => {
  it('are made by Tollgate in one shape, and nothing else is one', () => {
    const k = objectKey('images', '0190a0a0-0000-7000-8000-000000000001', 'png', Date.UTC(2026, 2, 1));
    expect(k).toBe('images/2026/03/0190a0a0-0000-7000-8000-000000000001.png');
    expect(isObjectKey(k)).toBe(true);
    for (const bad of [
      '../secrets.json',
      'images/2026/03/../../../secrets.json',
      'images/2026/03/0190a0a0-0000-7000-8000-000000000001.html',
      '/etc/passwd',
      'images/2026/03/0190a0a0-0000-7000-8000-000000000001.png/x',
      'images\\2026\\03\\0190a0a0-0000-7000-8000-000000000001.png',
    ])
      expect(isObjectKey(bad), bad).toBe(false);
  });

  it('the local driver refuses a path that is not a key and writes no temporary file beside one', async () => {
    const root = mkdtempSync(join(tmpdir(), 'tollgate-uploads-'));
    try {
      const driver = new LocalDriver(root);
      await expect(driver.put('../escape.png', png(), 'image/png')).rejects.toThrow(/not an object key/);
      await expect(driver.get('../../etc/passwd')).rejects.toThrow(/not an object key/);
      const k = key('png');
      await driver.put(k, png(), 'image/png');
      expect(readdirSync(join(root, 'images', '2026', '12'))).toEqual([k.split('/').at(-1)]);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

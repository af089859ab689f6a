import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends, call } from '#test/helpers/test-app.ts';
import { asGateway, expectBooksBalanced, newUser, startDify, usageRows, type DifyGateway } from './helpers.ts';

const BOUNDARY = '----tollgate-upload-boundary';
const part = (headers: string, content: string) => `--${BOUNDARY}\r\n${headers}\r\n\r\n${content}\r\n`;
const filePart = part(
  'Content-Disposition: form-data; name="file"; filename="a.png"\r\nContent-Type: image/png',
  'PNG bytes',
);

/** Bodies a broken client (or someone poking) sends as a multipart upload, with their Content-Type. */
const MALFORMED: Array<[string, string, string]> = [
  ['no boundary in the Content-Type', 'multipart/form-data', `${filePart}--${BOUNDARY}--\r\n`],
  ['an empty boundary', 'multipart/form-data; boundary=', `${filePart}--${BOUNDARY}--\r\n`],
  [
    'a boundary the body never uses',
    `multipart/form-data; boundary=${BOUNDARY}`,
    '--another\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\n\r\nx\r\n--another--\r\n',
  ],
  [
    'a body cut off inside the file',
    `multipart/form-data; boundary=${BOUNDARY}`,
    `--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\nContent-Type: image/png\r\n\r\nPNG by`,
  ],
  [
    'a body cut off inside the part headers',
    `multipart/form-data; boundary=${BOUNDARY}`,
    `--${BOUNDARY}\r\nContent-Disposition: form-da`,
  ],
  ['plain text after the boundary', `multipart/form-data; boundary=${BOUNDARY}`, 'this is not multipart at all'],
  ['bytes that are not text', `multipart/form-data; boundary=${BOUNDARY}`, '\u0000\u00ff\u00fe\r\n--\r\n\r\n'],
];

/**
 * Issue 15, item 3: a malformed multipart upload to /api/dify/files/upload (a cut body, no boundary)
 * was a 500. It is 400 MALFORMED_UPLOAD in seed 001's envelope; Dify is never called and nothing is charged.
 */
describe.each(backends().slice(0, 1))('malformed uploads to the Dify proxy ($label)', (backend) => {
  let g: DifyGateway;
  beforeAll(async () => {
    g = await startDify(backend);
  });
  afterAll(() => g.close());

  it.each(['/files/upload', '/audio-to-text'])(
    '%s: every malformed multipart body is 400 MALFORMED_UPLOAD, not sent, not charged',
    async (path) => {
      const user = await newUser(g, 500);
      const difyCalls = g.fake.stats.requests;
      for (const [what, type, payload] of MALFORMED) {
        const res = await call(g.t.app, 'POST', `/api/dify${path}`, {
          token: user.accessToken,
          body: payload,
          headers: { 'content-type': type },
          lang: 'en',
        });
        expect(res.statusCode, `${what}: ${res.body}`).toBe(400);
        expect(res.json(), what).toMatchObject({
          success: false,
          statusCode: 400,
          code: 'MALFORMED_UPLOAD',
          message:
            'The upload is not a valid multipart/form-data body (with a boundary, and a file in the field `file`)',
          path: `/api/dify${path}`,
        });
      }
      expect(g.fake.stats.requests, 'calls to Dify').toBe(difyCalls);
      expect(await usageRows(asGateway(g), user.id)).toHaveLength(0);
      expect(await expectBooksBalanced(asGateway(g), user.id)).toBe(500);
    },
  );

  it('a well-formed body without a file, or one that is not multipart, is answered as before: 400 FILE_REQUIRED, or 415', async () => {
    const user = await newUser(g, 500);
    const noFile = `${part('Content-Type: image/png', 'a part without Content-Disposition')}--${BOUNDARY}--\r\n`;
    const withoutFile = await call(g.t.app, 'POST', '/api/dify/files/upload', {
      token: user.accessToken,
      body: noFile,
      headers: { 'content-type': `multipart/form-data; boundary=${BOUNDARY}` },
    });
    expect(withoutFile.statusCode).toBe(400);
    expect(withoutFile.json()).toMatchObject({ code: 'FILE_REQUIRED' });
    const empty = await call(g.t.app, 'POST', '/api/dify/files/upload', {
      token: user.accessToken,
      body: '',
      headers: { 'content-type': `multipart/form-data; boundary=${BOUNDARY}` },
    });
    expect(empty.statusCode).toBe(400);
    expect(empty.json()).toMatchObject({ code: 'FILE_REQUIRED' });
    const json = await call(g.t.app, 'POST', '/api/dify/files/upload', {
      token: user.accessToken,
      body: { file: 'x' },
    });
    expect(json.statusCode).toBe(400);
    expect(json.json()).toMatchObject({ code: 'FILE_REQUIRED' });
    const xml = await call(g.t.app, 'POST', '/api/dify/files/upload', {
      token: user.accessToken,
      body: '<file/>',
      headers: { 'content-type': 'application/xml' },
    });
    expect(xml.statusCode).toBe(415);
    expect(xml.json()).toMatchObject({ success: false, code: 'UNSUPPORTED_MEDIA_TYPE' });
  });

  it('messages are Chinese by default', async () => {
    const user = await newUser(g, 500);
    const res = await call(g.t.app, 'POST', '/api/dify/files/upload', {
      token: user.accessToken,
      body: 'garbage',
      headers: { 'content-type': 'multipart/form-data' },
    });
    expect(res.json()).toMatchObject({
      code: 'MALFORMED_UPLOAD',
      message: '上传内容不是有效的 multipart/form-data（需要 boundary，并在字段 file 中带一个文件）',
    });
  });
});

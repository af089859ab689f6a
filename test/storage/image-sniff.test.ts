import { describe, expect, it } from 'vitest';
import { sniffImage } from '#modules/storage/image-sniff.ts';
import { gif, jpeg, png, webp } from './images.ts';

describe('image sniffing by bytes', () => {
  it.each([
    ['PNG', png(4, 3), 'image/png', 4, 3],
    ['JPEG behind APP0, EXIF and DQT', jpeg(640, 480), 'image/jpeg', 640, 480],
    ['GIF', gif(7, 2), 'image/gif', 7, 2],
    ['WebP lossy', webp.lossy, 'image/webp', 1, 1],
    ['WebP lossless', webp.lossless, 'image/webp', 1, 1],
    ['WebP extended', webp.extended, 'image/webp', 1, 1],
  ])('%s: its type and size', (_name, bytes, contentType, width, height) => {
    expect(sniffImage(bytes)).toMatchObject({ contentType, width, height });
  });

  it.each([
    ['text', Buffer.from('hello, not an image')],
    ['SVG', Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="1" height="1"/>')],
    ['HTML', Buffer.from('<html><script>alert(1)</script></html>')],
    ['PDF', Buffer.from('%PDF-1.7\n')],
    ['BMP', Buffer.concat([Buffer.from('BM'), Buffer.alloc(60)])],
    ['a RIFF that is not WebP', Buffer.concat([Buffer.from('RIFF\0\0\0\0WAVEfmt '), Buffer.alloc(20)])],
    ['empty', Buffer.alloc(0)],
  ])('%s is not an image', (_name, bytes) => {
    expect(sniffImage(bytes)).toBe('unsupported');
  });

  it.each([
    ['a PNG cut inside its header', png().subarray(0, 20)],
    ['a PNG of zero width', png(1, 1, { width: 0, height: 1 })],
    ['a JPEG without a frame header', Buffer.from([0xff, 0xd8, 0xff, 0xd9])],
    ['a JPEG cut inside a segment', jpeg().subarray(0, 30)],
    ['a GIF of zero height', gif(3, 0)],
    ['a WebP cut after its chunk name', webp.lossy.subarray(0, 18)],
  ])('%s is corrupt', (_name, bytes) => {
    expect(sniffImage(bytes)).toBe('corrupt');
  });
});

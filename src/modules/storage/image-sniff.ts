/**
 * What an uploaded image is, read from its bytes alone (never its name or a Content-Type a client
 * sent): PNG, JPEG, WebP or GIF, with its width and height from the header, before anything decodes
 * it. Anything else, or a header cut short, is not an image here (docs/storage.md).
 */
export type ImageType = 'png' | 'jpeg' | 'webp' | 'gif';

export interface SniffedImage {
  type: ImageType;
  contentType: string;
  /** The file name extension objects of this type are stored with. */
  ext: string;
  width: number;
  height: number;
}

export const IMAGE_TYPES: Readonly<Record<ImageType, { contentType: string; ext: string }>> = {
  png: { contentType: 'image/png', ext: 'png' },
  jpeg: { contentType: 'image/jpeg', ext: 'jpg' },
  webp: { contentType: 'image/webp', ext: 'webp' },
  gif: { contentType: 'image/gif', ext: 'gif' },
};

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** The image type by magic bytes alone; undefined for anything else. */
export function imageTypeOf(bytes: Buffer): ImageType | undefined {
  if (bytes.length >= 8 && bytes.subarray(0, 8).equals(PNG_SIGNATURE)) return 'png';
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'jpeg';
  if (bytes.length >= 12 && ascii(bytes, 0, 4) === 'RIFF' && ascii(bytes, 8, 12) === 'WEBP') return 'webp';
  if (bytes.length >= 6 && (ascii(bytes, 0, 6) === 'GIF87a' || ascii(bytes, 0, 6) === 'GIF89a')) return 'gif';
  return undefined;
}

/**
 * The type and size of an image; `unsupported` when the bytes are no PNG, JPEG, WebP or GIF, `corrupt`
 * when they start like one but its header does not give a size (cut short, zero width, …).
 */
export function sniffImage(bytes: Buffer): SniffedImage | 'unsupported' | 'corrupt' {
  const type = imageTypeOf(bytes);
  if (!type) return 'unsupported';
  let size: { width: number; height: number } | undefined;
  try {
    size = SIZE_READERS[type](bytes);
  } catch {
    size = undefined; // a read past the end (RangeError): the header is cut short
  }
  if (!size || size.width < 1 || size.height < 1) return 'corrupt';
  return { type, ...IMAGE_TYPES[type], ...size };
}

type SizeReader = (b: Buffer) => { width: number; height: number } | undefined;

const SIZE_READERS: Record<ImageType, SizeReader> = {
  png: (b) => (ascii(b, 12, 16) === 'IHDR' ? { width: b.readUInt32BE(16), height: b.readUInt32BE(20) } : undefined),
  gif: (b) => ({ width: b.readUInt16LE(6), height: b.readUInt16LE(8) }),
  webp: webpSize,
  jpeg: jpegSize,
};

function webpSize(b: Buffer): { width: number; height: number } | undefined {
  const chunk = ascii(b, 12, 16);
  if (chunk === 'VP8 ') {
    // A key frame's start code 9d 01 2a, then 14-bit width and height.
    if (b[23] !== 0x9d || b[24] !== 0x01 || b[25] !== 0x2a) return undefined;
    return { width: b.readUInt16LE(26) & 0x3fff, height: b.readUInt16LE(28) & 0x3fff };
  }
  if (chunk === 'VP8L') {
    if (b[20] !== 0x2f) return undefined;
    const bits = b.readUInt32LE(21);
    return { width: (bits & 0x3fff) + 1, height: ((bits >>> 14) & 0x3fff) + 1 };
  }
  if (chunk === 'VP8X') return { width: b.readUIntLE(24, 3) + 1, height: b.readUIntLE(27, 3) + 1 };
  return undefined;
}

/** The frame size from the first SOFn segment (not DHT C4, JPG C8, DAC CC). */
function jpegSize(b: Buffer): { width: number; height: number } | undefined {
  let offset = 2;
  while (offset + 4 <= b.length) {
    if (b[offset] !== 0xff) return undefined;
    const marker = b[offset + 1]!;
    if (marker === 0xff) {
      offset += 1; // fill byte
      continue;
    }
    if (marker === 0xd8 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      offset += 2; // markers without a length
      continue;
    }
    if (marker === 0xd9 || marker === 0xda) return undefined; // end or scan data before any frame header
    const length = b.readUInt16BE(offset + 2);
    if (length < 2) return undefined;
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      return { height: b.readUInt16BE(offset + 5), width: b.readUInt16BE(offset + 7) };
    }
    offset += 2 + length;
  }
  return undefined;
}

function ascii(b: Buffer, start: number, end: number): string {
  return b.toString('latin1', start, Math.min(end, b.length));
}

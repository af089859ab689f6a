/**
 * A small multipart/form-data reader (RFC 7578) for POST /files/upload and /audio-to-text: enough
 * for what fetch's FormData, axios and curl send. A part with a `filename` parameter (even an empty
 * one) is a file, as werkzeug treats it; any other part is a text field.
 */

export interface MultipartFile {
  field: string;
  filename: string;
  /** The part's Content-Type; '' when the part had none. */
  mimeType: string;
  size: number;
  data: Buffer;
}

export interface ParsedMultipart {
  fields: Record<string, string>;
  files: MultipartFile[];
}

export class MultipartError extends Error {}

/** The boundary of a multipart/form-data Content-Type, or undefined for any other type. */
export function boundaryOf(contentType: string | undefined): string | undefined {
  if (!contentType || !/^multipart\/form-data\s*(;|$)/i.test(contentType)) return undefined;
  const match = /;\s*boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  return match?.[1] ?? match?.[2];
}

/** Parameters of a header value such as `form-data; name="file"; filename="a.png"`. */
function parameters(value: string): Map<string, string> {
  const params = new Map<string, string>();
  for (const match of value.matchAll(/;\s*([^=;\s]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;]*)/g)) {
    const name = match[1]!.toLowerCase();
    let raw = match[2]!.trim();
    // Only \" is unescaped: browsers send Windows paths with bare backslashes, and werkzeug keeps them.
    if (raw.startsWith('"')) raw = raw.slice(1, -1).replace(/\\"/g, '"');
    if (name.endsWith('*')) {
      // RFC 5987: charset'language'percent-encoded
      const encoded = raw.slice(raw.indexOf("'", raw.indexOf("'") + 1) + 1);
      try {
        params.set(name.slice(0, -1), decodeURIComponent(encoded));
      } catch {
        params.set(name.slice(0, -1), encoded);
      }
    } else if (!params.has(name)) {
      // Browsers and undici write `"`, CR and LF in names as %22, %0D, %0A.
      params.set(name, raw.replace(/%22/g, '"').replace(/%0D/gi, '\r').replace(/%0A/gi, '\n'));
    }
  }
  return params;
}

function headersOf(block: string): Map<string, string> {
  const headers = new Map<string, string>();
  for (const line of block.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  return headers;
}

export function parseMultipart(body: Buffer, boundary: string): ParsedMultipart {
  const delimiter = Buffer.from(`--${boundary}`);
  const between = Buffer.from(`\r\n--${boundary}`);
  const result: ParsedMultipart = { fields: {}, files: [] };
  let at = body.indexOf(delimiter);
  if (at === -1) throw new MultipartError('multipart body without its boundary');
  at += delimiter.length;
  for (;;) {
    if (body.subarray(at, at + 2).toString('latin1') === '--') return result;
    if (body.subarray(at, at + 2).toString('latin1') !== '\r\n')
      throw new MultipartError('malformed multipart delimiter line');
    const headerEnd = body.indexOf('\r\n\r\n', at + 2);
    if (headerEnd === -1) throw new MultipartError('multipart part without a header end');
    const headers = headersOf(body.subarray(at + 2, headerEnd).toString('utf8'));
    const next = body.indexOf(between, headerEnd + 4);
    if (next === -1) throw new MultipartError('multipart body without its closing boundary');
    const data = body.subarray(headerEnd + 4, next);
    const disposition = parameters(headers.get('content-disposition') ?? '');
    const field = disposition.get('name') ?? '';
    const filename = disposition.get('filename');
    if (filename !== undefined) {
      result.files.push({
        field,
        filename,
        mimeType: (headers.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase(),
        size: data.length,
        data: Buffer.from(data),
      });
    } else if (!(field in result.fields)) {
      result.fields[field] = data.toString('utf8');
    }
    at = next + between.length;
  }
}

/**
 * The two JSON dialects Dify has sent over the years (dify-api.md §2.1): newer servers use orjson
 * (compact, UTF-8), older ones Python's `json.dumps` defaults (`", "` and `": "` separators, every
 * non-ASCII character escaped as \uXXXX). A client must not care; the `spaced` behaviour checks that.
 */

/** JSON.stringify's string quoting, then non-ASCII escaped as Python's ensure_ascii does. */
function pythonString(value: string): string {
  return JSON.stringify(value).replace(
    /[\u0080-\uffff]/g,
    (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/** Python `json.dumps(value)` with the default separators and ensure_ascii. */
export function pythonJson(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  switch (typeof value) {
    case 'string':
      return pythonString(value);
    case 'number':
      return Number.isFinite(value) ? JSON.stringify(value) : 'null';
    case 'boolean':
      return value ? 'true' : 'false';
    case 'object': {
      if (Array.isArray(value)) return `[${value.map((item) => pythonJson(item)).join(', ')}]`;
      const entries = Object.entries(value as Record<string, unknown>).filter(([, item]) => item !== undefined);
      return `{${entries.map(([key, item]) => `${pythonString(key)}: ${pythonJson(item)}`).join(', ')}}`;
    }
    default:
      return 'null';
  }
}

export const toJson = (value: unknown, spaced: boolean | undefined): string =>
  spaced ? pythonJson(value) : JSON.stringify(value);

/** One SSE data frame: `data: <json>\n\n` (the JSON never holds a raw newline). */
export const dataFrame = (event: unknown, spaced: boolean | undefined): string => `data: ${toJson(event, spaced)}\n\n`;

/** Dify's keep-alive: an event line with no data. */
export const PING_FRAME = 'event: ping\n\n';

import type { FastifyInstance } from 'fastify';
import { AppError } from '#core/errors.ts';

/**
 * The deepest nesting of arrays and objects a JSON body may have. No request of any surface needs more
 * (a tool's JSON schema is a few levels); bounding it here means no code after the parser (encoding for
 * the upstream, token counting, walks over Dify inputs) can be made to overflow the stack.
 */
export const MAX_JSON_DEPTH = 128;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;

/** The index just past the string whose opening quote is before `from` (the text's end if it never closes). */
function endOfString(text: string, from: number): number {
  for (let at = from; ;) {
    const quote = text.indexOf('"', at);
    if (quote === -1) return text.length;
    let backslashes = 0;
    while (quote - backslashes - 1 >= from && text.charCodeAt(quote - backslashes - 1) === BACKSLASH) backslashes += 1;
    if (backslashes % 2 === 0) return quote + 1;
    at = quote + 1;
  }
}

/**
 * Whether JSON text nests arrays and objects more than `max` levels deep: one pass, no recursion,
 * strings skipped whole (brackets in them are text). Text that is not JSON is left to the parser.
 */
export function nestsDeeperThan(text: string, max: number): boolean {
  if (text.length <= max) return false;
  let depth = 0;
  for (let at = 0; at < text.length; at += 1) {
    const code = text.charCodeAt(at);
    if (code === QUOTE) at = endOfString(text, at + 1) - 1;
    else if (code === OPEN_ARRAY || code === OPEN_OBJECT) {
      depth += 1;
      if (depth > max) return true;
    } else if (code === CLOSE_ARRAY || code === CLOSE_OBJECT) depth -= 1;
  }
  return false;
}

/**
 * The app's `application/json` parser: Fastify's own (prototype poisoning refused, empty and malformed
 * bodies answered as before), after a depth check that refuses a body nested past MAX_JSON_DEPTH with
 * 400 JSON_TOO_DEEP in the route's error shape.
 */
export function registerJsonBodyParser(app: FastifyInstance): void {
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    if (nestsDeeperThan(body as string, MAX_JSON_DEPTH)) {
      done(new AppError('JSON_TOO_DEEP', { max: MAX_JSON_DEPTH }), undefined);
      return;
    }
    void parseJson(request, body as string, done);
  });
}

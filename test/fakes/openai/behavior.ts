/**
 * What FakeOpenAI does with one request, and the `x-fake-behavior` header / `fake_behavior` body
 * field syntax that sets it. See the top of test/fakes/openai.ts for the whole control API.
 */

/** Token counts as OpenAI reports them; `total_tokens` defaults to the sum. */
export interface FakeUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens?: number;
}

/**
 * Where a stream carries its usage:
 * - `chunk` (OpenAI): one extra `choices: []` chunk before `[DONE]`, only when the request set
 *   `stream_options.include_usage`;
 * - `last-content` / `finish`: on the last content chunk / on the finish_reason chunk, whether or not
 *   include_usage was asked (what some compatible upstreams do); no separate chunk.
 */
export type UsagePlacement = 'chunk' | 'last-content' | 'finish';

/** Every field is optional; an unset field means "behave like OpenAI". */
export interface Behavior {
  /** Answer with this status and OpenAI's error body for it (401, 403, 404, 429, 500, 502, 503, …). */
  status?: number;
  /** Error code: with 429, `insufficient_quota` picks the quota error; otherwise replaces `error.code`. */
  code?: string;
  /** Replaces the error message (HTTP errors and the in-band stream error). */
  message?: string;
  /** `retry-after` seconds on a 429 rate-limit answer (default 1); `null` leaves the header out. */
  retryAfter?: number | null;
  /** Milliseconds to wait before the status line and headers. */
  delay?: number;
  /** Never answer (the request stays in flight until the client or `close()` ends it). */
  hang?: boolean;
  /** Milliseconds between two SSE events (a slow stream). */
  chunkDelay?: number;
  /** Streams: write N events, then stop writing and keep the connection open. Non-stream: hang. */
  stallAfter?: number;
  /**
   * Streams: write N events, then close the connection mid-body (no last chunk, no `[DONE]`), after
   * the N events were flushed so the client does get them. Non-stream: close without answering.
   */
  resetAfter?: number;
  /** Make `resetAfter` a TCP RST (ECONNRESET) instead of a FIN. */
  rst?: boolean;
  /** Streams: write N events, then `data: {"error":{…}}` and end the body (no `[DONE]`). */
  errorAfter?: number;
  /** Streams: after N events insert the malformed event `data: {malformed`, then carry on. */
  garbageAfter?: number;
  /** Streams: end the body without `data: [DONE]`. */
  noDone?: boolean;
  /** The reply text (chat content, completion text). */
  text?: string;
  /** The reply is N generated words (N tokens): a very long output with `words=5000`. */
  words?: number;
  /** Split the content (or tool-call arguments) into exactly N chunks, by characters. */
  chunks?: number;
  /** Report exactly these numbers (zeros included), or `none` to leave usage out entirely. */
  usage?: FakeUsage | 'none';
  /**
   * Report this usage object as it is written (JSON), in place of the counted one: what a misbehaving
   * compatible upstream sends (`{"prompt_tokens":5.5,"completion_tokens":"abc"}`).
   */
  rawUsage?: string;
  /** Streams: where usage goes (default `chunk`). */
  usageIn?: UsagePlacement;
}

export class FakeBehaviorError extends Error {}

type Parser = (value: string | undefined, key: string) => Partial<Behavior>;

function int(value: string | undefined, key: string): number {
  const n = Number(value);
  if (value === undefined || value === '' || !Number.isInteger(n) || n < 0) {
    throw new FakeBehaviorError(`fake: ${key} needs a whole number ≥ 0, got ${JSON.stringify(value)}`);
  }
  return n;
}

function flag(value: string | undefined, key: string): boolean {
  if (value === undefined || value === 'true' || value === '1') return true;
  if (value === 'false' || value === '0') return false;
  throw new FakeBehaviorError(`fake: ${key} is a flag (true|false), got ${JSON.stringify(value)}`);
}

function text(value: string | undefined, key: string): string {
  if (value === undefined) throw new FakeBehaviorError(`fake: ${key} needs a value`);
  return value;
}

function usage(value: string | undefined, key: string): FakeUsage | 'none' {
  if (value === 'none') return 'none';
  const parts = text(value, key).split(',');
  if (parts.length < 2 || parts.length > 3)
    throw new FakeBehaviorError(`fake: usage is P,C[,T] or none, got ${JSON.stringify(value)}`);
  const [prompt, completion, total] = parts.map((part) => int(part.trim(), key));
  return total === undefined
    ? { prompt_tokens: prompt!, completion_tokens: completion! }
    : { prompt_tokens: prompt!, completion_tokens: completion!, total_tokens: total };
}

const PARSERS: Record<string, Parser> = {
  status: (v, k) => ({ status: int(v, k) }),
  code: (v, k) => ({ code: text(v, k) }),
  message: (v, k) => ({ message: text(v, k) }),
  'retry-after': (v, k) => {
    if (v === 'none') return { retryAfter: null };
    const n = Number(v);
    if (v === undefined || v === '' || !Number.isFinite(n) || n < 0)
      throw new FakeBehaviorError(`fake: ${k} is seconds ≥ 0 or none`);
    return { retryAfter: n };
  },
  delay: (v, k) => ({ delay: int(v, k) }),
  hang: (v, k) => ({ hang: flag(v, k) }),
  'chunk-delay': (v, k) => ({ chunkDelay: int(v, k) }),
  'stall-after': (v, k) => ({ stallAfter: int(v, k) }),
  'reset-after': (v, k) => ({ resetAfter: int(v, k) }),
  rst: (v, k) => ({ rst: flag(v, k) }),
  'error-after': (v, k) => ({ errorAfter: int(v, k) }),
  'garbage-after': (v, k) => ({ garbageAfter: int(v, k) }),
  'no-done': (v, k) => ({ noDone: flag(v, k) }),
  text: (v, k) => ({ text: text(v, k) }),
  words: (v, k) => ({ words: int(v, k) }),
  chunks: (v, k) => {
    const n = int(v, k);
    if (n === 0) throw new FakeBehaviorError('fake: chunks must be ≥ 1');
    return { chunks: n };
  },
  usage: (v, k) => ({ usage: usage(v, k) }),
  'raw-usage': (v, k) => {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text(v, k));
    } catch {
      throw new FakeBehaviorError(`fake: ${k} is a JSON object, got ${JSON.stringify(v)}`);
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
      throw new FakeBehaviorError(`fake: ${k} is a JSON object, got ${JSON.stringify(v)}`);
    return { rawUsage: v! };
  },
  'usage-in': (v, k) => {
    if (v === 'chunk' || v === 'last-content' || v === 'finish') return { usageIn: v };
    throw new FakeBehaviorError(`fake: ${k} is chunk|last-content|finish, got ${JSON.stringify(v)}`);
  },
};

/**
 * Parses `key=value; key=value; flag`: pairs separated by `;`, values percent-decoded (so
 * `text=a%3Bb` is `a;b`), a bare key is a flag set to true. Unknown keys throw.
 */
export function parseBehavior(spec: string): Behavior {
  const behavior: Behavior = {};
  for (const part of spec.split(';')) {
    const item = part.trim();
    if (item === '') continue;
    const eq = item.indexOf('=');
    const key = (eq === -1 ? item : item.slice(0, eq)).trim().toLowerCase();
    const raw = eq === -1 ? undefined : item.slice(eq + 1).trim();
    const parser = PARSERS[key];
    if (!parser)
      throw new FakeBehaviorError(
        `fake: unknown behavior ${JSON.stringify(key)} (known: ${Object.keys(PARSERS).join(', ')})`,
      );
    let value: string | undefined;
    try {
      value = raw === undefined ? undefined : decodeURIComponent(raw);
    } catch {
      throw new FakeBehaviorError(`fake: ${key} has a badly percent-encoded value`);
    }
    Object.assign(behavior, parser(value, key));
  }
  return behavior;
}

/** A behaviour given as the string syntax or as an object. */
export type BehaviorInput = Behavior | string;

export function toBehavior(input: BehaviorInput): Behavior {
  return typeof input === 'string' ? parseBehavior(input) : { ...input };
}

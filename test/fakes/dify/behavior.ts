/**
 * What FakeDify does with one request, and the `key=value; flag` syntax that sets it (from
 * `fake.always`, `fake.next`, the `x-fake-behavior` header or the `inputs.fake_behavior` field).
 * The top of test/fakes/dify.ts lists every key with its meaning.
 */

/** Token counts to report instead of the computed ones. */
export interface DifyUsageOverride {
  prompt_tokens: number;
  completion_tokens: number;
}

/** Which terminal event of a chatflow stream comes first (Dify's code and its docs disagree). */
export type ChatflowOrder = 'workflow-first' | 'message-first';

/** Every field is optional; an unset field means "behave like Dify". */
export interface DifyBehavior {
  /** Answer with this HTTP status and Dify's error envelope (502: an HTML page). */
  status?: number;
  /** The `code` of that envelope, or of the in-band `error` event of error-after. */
  code?: string;
  /** The `message` of that envelope, or of the in-band `error` event. */
  message?: string;
  /** `Retry-After` seconds on a 429 too_many_requests (default 1); null leaves it out. */
  retryAfter?: number | null;
  /** Milliseconds to wait before the status line. */
  delay?: number;
  /** Never answer. */
  hang?: boolean;
  /** Milliseconds between two SSE events. */
  chunkDelay?: number;
  /** Streams: write N events, then go silent with the connection open (pings go on). Blocking: hang. */
  stallAfter?: number;
  /** Streams: write N events, then drop the connection. Blocking: drop without answering. */
  resetAfter?: number;
  /** Make the drop a TCP RST instead of a FIN. */
  rst?: boolean;
  /** Streams: write N events, then an `error` event, then end (no message_end). Blocking: that error as HTTP. */
  errorAfter?: number;
  /** Streams: end after the deltas without the terminal events (message_end / workflow_finished). */
  noEnd?: boolean;
  /** Streams: no `event: ping` frames. */
  noPing?: boolean;
  /** The answer text. */
  text?: string;
  /** The answer is N generated words (N tokens). */
  words?: number;
  /** Report these token counts, or `none`: no usage in message_end / no total_tokens in workflow events. */
  usage?: DifyUsageOverride | 'none';
  /** Send `message_replace` with this text before message_end; the stored and blocking answer becomes it. */
  replace?: string;
  /** An annotation reply: `annotation_reply` in metadata and a zero usage. */
  annotation?: boolean;
  /** Chatflow streams: workflow_finished before message_end (default, as Dify's code) or after. */
  order?: ChatflowOrder;
  /** Python `json.dumps` style JSON (`", "`, `": "`, non-ASCII escaped) instead of compact. */
  spaced?: boolean;
  /** Milliseconds between a stop call and the end of the stream (deltas keep flowing meanwhile). */
  stopWait?: number;
}

export type DifyBehaviorInput = DifyBehavior | string;

export class DifyBehaviorError extends Error {}

type Parser = (value: string | undefined, key: string) => Partial<DifyBehavior>;

function whole(value: string | undefined, key: string): number {
  const n = Number(value);
  if (value === undefined || value.trim() === '' || !Number.isInteger(n) || n < 0) {
    throw new DifyBehaviorError(`fake: ${key} needs a whole number ≥ 0, got ${JSON.stringify(value)}`);
  }
  return n;
}

function flag(value: string | undefined, key: string): boolean {
  if (value === undefined || value === 'true' || value === '1') return true;
  if (value === 'false' || value === '0') return false;
  throw new DifyBehaviorError(`fake: ${key} is a flag (true|false), got ${JSON.stringify(value)}`);
}

function text(value: string | undefined, key: string): string {
  if (value === undefined) throw new DifyBehaviorError(`fake: ${key} needs a value`);
  return value;
}

function usage(value: string | undefined, key: string): DifyUsageOverride | 'none' {
  if (value === 'none') return 'none';
  const parts = text(value, key).split(',');
  if (parts.length !== 2) throw new DifyBehaviorError(`fake: usage is P,C or none, got ${JSON.stringify(value)}`);
  const [prompt, completion] = parts.map((part) => whole(part.trim(), key));
  return { prompt_tokens: prompt!, completion_tokens: completion! };
}

const PARSERS: Record<string, Parser> = {
  status: (v, k) => {
    const status = whole(v, k);
    if (status < 200 || status > 599) throw new DifyBehaviorError(`fake: status must be 200–599, got ${status}`);
    return { status };
  },
  code: (v, k) => ({ code: text(v, k) }),
  message: (v, k) => ({ message: text(v, k) }),
  'retry-after': (v, k) => (v === 'none' ? { retryAfter: null } : { retryAfter: whole(v, k) }),
  delay: (v, k) => ({ delay: whole(v, k) }),
  hang: (v, k) => ({ hang: flag(v, k) }),
  'chunk-delay': (v, k) => ({ chunkDelay: whole(v, k) }),
  'stall-after': (v, k) => ({ stallAfter: whole(v, k) }),
  'reset-after': (v, k) => ({ resetAfter: whole(v, k) }),
  rst: (v, k) => ({ rst: flag(v, k) }),
  'error-after': (v, k) => ({ errorAfter: whole(v, k) }),
  'no-end': (v, k) => ({ noEnd: flag(v, k) }),
  'no-ping': (v, k) => ({ noPing: flag(v, k) }),
  text: (v, k) => ({ text: text(v, k) }),
  words: (v, k) => ({ words: whole(v, k) }),
  usage: (v, k) => ({ usage: usage(v, k) }),
  replace: (v, k) => ({ replace: text(v, k) }),
  annotation: (v, k) => ({ annotation: flag(v, k) }),
  order: (v, k) => {
    if (v === 'message-first' || v === 'workflow-first') return { order: v };
    throw new DifyBehaviorError(`fake: ${k} is message-first|workflow-first, got ${JSON.stringify(v)}`);
  },
  spaced: (v, k) => ({ spaced: flag(v, k) }),
  'stop-wait': (v, k) => ({ stopWait: whole(v, k) }),
};

/** The keys the spec syntax knows, for error messages and docs. */
export const BEHAVIOR_KEYS: readonly string[] = Object.keys(PARSERS);

/**
 * Parses `key=value; key=value; flag`: pairs split on `;`, values percent-decoded (`text=a%3Bb` is
 * `a;b`), a bare key is a flag. Unknown keys and bad values throw DifyBehaviorError.
 */
export function parseDifyBehavior(spec: string): DifyBehavior {
  const behavior: DifyBehavior = {};
  for (const part of spec.split(';')) {
    const item = part.trim();
    if (item === '') continue;
    const eq = item.indexOf('=');
    const key = (eq === -1 ? item : item.slice(0, eq)).trim().toLowerCase();
    const raw = eq === -1 ? undefined : item.slice(eq + 1).trim();
    const parser = PARSERS[key];
    if (!parser)
      throw new DifyBehaviorError(`fake: unknown behavior ${JSON.stringify(key)} (known: ${BEHAVIOR_KEYS.join(', ')})`);
    let value: string | undefined;
    try {
      value = raw === undefined ? undefined : decodeURIComponent(raw);
    } catch {
      throw new DifyBehaviorError(`fake: ${key} has a badly percent-encoded value`);
    }
    Object.assign(behavior, parser(value, key));
  }
  return behavior;
}

export function toDifyBehavior(input: DifyBehaviorInput): DifyBehavior {
  return typeof input === 'string' ? parseDifyBehavior(input) : { ...input };
}

/** `/chat-messages` matches the recorded `/v1/chat-messages`, as does `/v1/chat-messages`. */
export const pathMatches = (path: string, wanted: string) => path === wanted || path === `/v1${wanted}`;

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * The global behaviour and the queue of one-off ones, and how a request's behaviour is merged from
 * them, its body (`fake_behavior`, `inputs.fake_behavior`, a multipart field) and its header.
 */
export class BehaviorControl {
  private global: DifyBehavior = {};
  private queue: Array<{ behavior: DifyBehavior; times: number; path: string | undefined }> = [];

  always(behavior?: DifyBehaviorInput): void {
    this.global = behavior === undefined ? {} : toDifyBehavior(behavior);
  }

  next(behavior: DifyBehaviorInput, options: number | { times?: number; path?: string } = 1): void {
    const { times = 1, path } = typeof options === 'number' ? { times: options } : options;
    if (times > 0) this.queue.push({ behavior: toDifyBehavior(behavior), times, path });
  }

  clear(): void {
    this.global = {};
    this.queue = [];
  }

  /** The behaviour of one request (consumes a queued entry); throws DifyBehaviorError on a bad spec. */
  resolve(
    path: string,
    header: string | string[] | undefined,
    body: unknown,
    formFields: Record<string, string> | undefined,
  ): DifyBehavior {
    let behavior = this.global;
    const index = this.queue.findIndex((entry) => entry.path === undefined || pathMatches(path, entry.path));
    const entry = this.queue[index];
    if (entry) {
      behavior = { ...behavior, ...entry.behavior };
      if (--entry.times === 0) this.queue.splice(index, 1);
    }
    const fields = isRecord(body) && !formFields ? body : {};
    const inputs = isRecord(fields.inputs) ? fields.inputs : {};
    for (const spec of [fields.fake_behavior, inputs.fake_behavior, formFields?.fake_behavior]) {
      if (typeof spec === 'string' || isRecord(spec)) behavior = { ...behavior, ...toDifyBehavior(spec) };
    }
    if (typeof header === 'string') behavior = { ...behavior, ...parseDifyBehavior(header) };
    return behavior;
  }
}

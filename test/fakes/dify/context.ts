/** What a FakeDify route handler gets and gives back, and small validation helpers they share. */
import type { FakeDifyApp } from './apps.ts';
import type { DifyBehavior } from './behavior.ts';
import { validationError } from './errors.ts';
import type { ParsedMultipart } from './multipart.ts';
import type { DifyStore, FakeDifyEndUser } from './store.ts';
import type { StreamScript } from './stream.ts';

export interface RouteContext {
  app: FakeDifyApp;
  /** The end user of this request's `user` (DEFAULT-USER when it had none), created on first use. */
  endUser(): FakeDifyEndUser;
  /** The JSON body (an object; `{}` for routes that read none). */
  body: Record<string, unknown>;
  query: Record<string, string>;
  /** The path parameters of the route, in order. */
  params: string[];
  /** The parsed multipart body of upload routes. */
  form: ParsedMultipart | undefined;
  behavior: DifyBehavior;
  store: DifyStore;
  origin: string;
  /** Stops a running stream of this app if `endUserId` owns it (undefined: anyone may). */
  stop(taskId: string, endUserId: string | undefined): void;
}

export type Outcome =
  | { kind: 'json'; status?: number; body: unknown }
  | { kind: 'no-content' }
  | { kind: 'binary'; contentType: string; data: Buffer }
  | { kind: 'stream'; script: StreamScript };

export const json = (body: unknown, status?: number): Outcome => ({
  kind: 'json',
  body,
  ...(status === undefined ? {} : { status }),
});

export const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const isUuid = (value: string) => UUID.test(value);

/** An integer query parameter within [min, max], as pydantic validates it. */
export function intQuery(
  ctx: RouteContext,
  model: string,
  name: string,
  fallback: number,
  min: number,
  max: number,
): number {
  const raw = ctx.query[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!/^[+-]?\d+$/.test(raw.trim()) || !Number.isSafeInteger(value)) {
    throw validationError(
      model,
      name,
      'Input should be a valid integer, unable to parse string as an integer [type=int_parsing]',
    );
  }
  if (value < min)
    throw validationError(model, name, `Input should be greater than or equal to ${min} [type=greater_than_equal]`);
  if (value > max)
    throw validationError(model, name, `Input should be less than or equal to ${max} [type=less_than_equal]`);
  return value;
}

/** An optional UUID query parameter (empty counts as absent). */
export function uuidQuery(ctx: RouteContext, model: string, name: string): string | undefined {
  const raw = ctx.query[name]?.trim();
  if (!raw) return undefined;
  if (!isUuid(raw)) throw validationError(model, name, 'Input should be a valid UUID [type=uuid_parsing]');
  return raw.toLowerCase();
}

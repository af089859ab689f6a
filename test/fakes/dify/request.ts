/**
 * Reading a request the way Dify's `validate_app_token` does (dify-api.md §1.1–1.3): the body
 * (JSON or multipart), the bearer key → app, and the `user` → end-user session id.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { FakeDifyApp } from './apps.ts';
import { isObject } from './context.ts';
import { difyErrors } from './errors.ts';
import { boundaryOf, parseMultipart, type ParsedMultipart } from './multipart.ts';
import type { Route } from './routes.ts';
import { DEFAULT_USER } from './store.ts';

/** How a multipart body is recorded: the parts without their bytes. */
export interface RecordedMultipart {
  fields: Record<string, string>;
  files: Array<{ field: string; filename: string; mimeType: string; size: number }>;
}

export interface ReadRequest {
  path: string;
  /** The first value of each query parameter. */
  query: Record<string, string>;
  /** Parsed JSON, the raw text, a RecordedMultipart, or undefined for an empty body. */
  body: unknown;
  /** The body was not valid JSON (and not multipart). */
  badJson: boolean;
  form: ParsedMultipart | undefined;
}

export function readRequest(url: URL, headers: IncomingHttpHeaders, raw: Buffer): ReadRequest {
  const query: Record<string, string> = {};
  for (const [name, value] of url.searchParams) if (!(name in query)) query[name] = value;
  const read: ReadRequest = { path: url.pathname, query, body: undefined, badJson: false, form: undefined };
  if (raw.length === 0) return read;
  const boundary = boundaryOf(headers['content-type']);
  if (boundary !== undefined) {
    try {
      const form = parseMultipart(raw, boundary);
      const files = form.files.map(({ field, filename, mimeType, size }) => ({ field, filename, mimeType, size }));
      return { ...read, form, body: { fields: form.fields, files } satisfies RecordedMultipart };
    } catch {
      return { ...read, body: raw.toString('utf8') };
    }
  }
  const text = raw.toString('utf8');
  try {
    return { ...read, body: JSON.parse(text) as unknown };
  } catch {
    return { ...read, body: text, badJson: true };
  }
}

/** The app of `Authorization: Bearer <key>`, or the 401 Dify gives for that header. */
export function authenticate(apps: ReadonlyMap<string, FakeDifyApp>, header: string | undefined): FakeDifyApp {
  if (header === undefined || !header.includes(' ')) throw difyErrors.noAuthHeader();
  const [scheme = '', token = ''] = header.trim().split(/\s+/, 2);
  if (scheme.toLowerCase() !== 'bearer') throw difyErrors.badScheme();
  const app = apps.get(token);
  if (!app) throw difyErrors.badToken();
  return app;
}

/** `user` as Dify reads it: stringified as Python would; absent, null and '' are "none". */
export function userString(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'boolean') return value ? 'True' : 'False';
  return typeof value === 'number' ? String(value) : JSON.stringify(value);
}

/** The `user` session id for the route: undefined when it reads none, DEFAULT-USER when optional and absent. */
export function userOf(
  route: Route,
  body: unknown,
  query: Record<string, string>,
  form: ParsedMultipart | undefined,
): string | undefined {
  if (route.user === 'none') return undefined;
  const json = isObject(body) ? body : {};
  const source = route.user.startsWith('json') ? json.user : route.user === 'form' ? form?.fields.user : query.user;
  const user = userString(source);
  if (user !== '') return user;
  if (route.user.endsWith('-required')) throw difyErrors.userRequired();
  return DEFAULT_USER;
}

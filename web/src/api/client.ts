import { currentApiLang } from '@/i18n/index.tsx';

/** An answer in the API's error envelope (`{success:false, statusCode, message}`), or a network failure. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    /** The API's stable error code (`ACCOUNT_LOCKED`, `CAPTCHA_REQUIRED`…), when it sent one. */
    readonly code: string | undefined = undefined,
  ) {
    super(message);
  }
}

export type Query = Record<string, string | number | undefined | null>;

export interface RequestOptions {
  method?: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';
  body?: unknown;
  query?: Query;
  /** Sign-in pages: a 401 there is an answer, not an expired session. */
  noRefresh?: boolean;
}

const signedOutListeners = new Set<() => void>();
/** Called when the session is gone for good (refresh refused): the app goes to the sign-in page. */
export function onSignedOut(listener: () => void): () => void {
  signedOutListeners.add(listener);
  return () => signedOutListeners.delete(listener);
}

export function withQuery(path: string, query: Query = {}): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) {
    if (value !== undefined && value !== null && value !== '') params.set(name, String(value));
  }
  const search = params.toString();
  return search ? `${path}?${search}` : path;
}

/**
 * The session lives in HttpOnly cookies the server sets; this code never sees a token. Every call sends
 * X-Requested-With (the server refuses a state change by cookie without it: no cross-site form can send
 * it). An expired access cookie is renewed once through /api/auth/refresh, shared by concurrent calls.
 */
async function send(path: string, options: RequestOptions): Promise<Response> {
  const headers: Record<string, string> = {
    'x-requested-with': 'tollgate-console',
    'accept-language': currentApiLang(),
  };
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  return fetch(withQuery(path, options.query), {
    method: options.method ?? 'GET',
    headers,
    credentials: 'same-origin',
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
}

let refreshing: Promise<boolean> | undefined;
function refreshSession(): Promise<boolean> {
  refreshing ??= send('/api/auth/refresh', { method: 'POST' })
    .then((res) => res.ok)
    .catch(() => false)
    .finally(() => {
      refreshing = undefined;
    });
  return refreshing;
}

async function errorOf(res: Response): Promise<ApiError> {
  const body = (await res.json().catch(() => ({}))) as { message?: unknown; code?: unknown };
  const message = typeof body.message === 'string' ? body.message : `${res.status} ${res.statusText}`;
  return new ApiError(res.status, message, typeof body.code === 'string' ? body.code : undefined);
}

export async function api<T>(path: string, options: RequestOptions = {}): Promise<T> {
  let res = await send(path, options);
  if (res.status === 401 && !options.noRefresh) {
    if (await refreshSession()) res = await send(path, options);
    if (res.status === 401) signedOutListeners.forEach((listener) => listener());
  }
  // A disabled account or an ended session: the next click signs the user out.
  if (res.status === 403 && !options.noRefresh) {
    const error = await errorOf(res);
    if (error.code === 'ACCOUNT_DISABLED') signedOutListeners.forEach((listener) => listener());
    throw error;
  }
  if (!res.ok) throw await errorOf(res);
  if (res.status === 204) return undefined as T;
  return (await res.json()) as T;
}

/** The raw response (a CSV download). */
export async function apiText(path: string, query?: Query): Promise<string> {
  const res = await send(path, { query });
  if (!res.ok) throw await errorOf(res);
  return res.text();
}

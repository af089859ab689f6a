import { Type, type TSchema } from 'typebox';
import { AppError } from '#core/errors.ts';

/** The largest page number a list takes: past any real list, and its OFFSET fits every database. */
export const MAX_PAGE = 100_000;
/** The most rows a list may be asked to skip (`?skip`): MAX_PAGE pages of the largest page. */
export const MAX_SKIP = 10_000_000;
const MAX_PAGE_SIZE = 100;

/**
 * The one way a list's paging parameter is declared: an integer within its bounds, so `1e20`, `1e300`,
 * `-1`, `1.5` or `abc` is refused by the schema (400, or the surface's own shape) before any query
 * runs. `page` from 1, `limit` (the page size) from 1 to 100, `skip` from 0.
 */
export const Paging = {
  page: () => Type.Integer({ minimum: 1, maximum: MAX_PAGE, default: 1 }),
  limit: (options: { default?: number } = {}) => Type.Integer({ minimum: 1, maximum: MAX_PAGE_SIZE, ...options }),
  skip: () => Type.Integer({ minimum: 0, maximum: MAX_SKIP, default: 0 }),
  /** An opaque position from a previous page's `nextCursor` (see `encodeCursor`). */
  cursor: () => Type.String({ minLength: 1, maxLength: 200 }),
};

/** `?page&limit` as the seeds page lists: page from 1, 20 per page by default, at most 100. */
export const PageQuery = Type.Object(
  { page: Paging.page(), limit: Paging.limit({ default: 20 }) },
  { additionalProperties: false },
);

/** `{items, total, page, limit}` (seed 001 §2.2, §3.3). */
export function Paged<T extends TSchema>(item: T) {
  return Type.Object({ items: Type.Array(item), total: Type.Integer(), page: Type.Integer(), limit: Type.Integer() });
}

/**
 * Where a keyset-paged list stopped: the sort value and the id of the last row given (newest first:
 * the next page holds rows ordered before it). Rows added while a client pages never shift or repeat
 * a page, as they do with `page`/`skip`.
 */
export interface CursorPosition {
  /** The sort value of the last row given (epoch milliseconds for time-ordered lists). */
  at: number;
  id: string;
}

/** The cursor a client sends back for the next page: base64url of the position, opaque to it. */
export function encodeCursor(position: CursorPosition): string {
  return Buffer.from(JSON.stringify([position.at, position.id])).toString('base64url');
}

/** A cursor from a client; 400 INVALID_CURSOR when it is not one Tollgate gave. */
export function decodeCursor(cursor: string): CursorPosition {
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(value) && value.length === 2) {
      const [at, id] = value as unknown[];
      if (typeof at === 'number' && Number.isSafeInteger(at) && typeof id === 'string' && id.length <= 64) {
        return { at, id };
      }
    }
  } catch {
    // not base64url JSON: refused below
  }
  throw new AppError('INVALID_CURSOR');
}

/**
 * `{items, total, page, limit, nextCursor, hasMore}`: a list paged by `page` or by `cursor`
 * (seed 003's "pagination + cursor"). `nextCursor` is null on the last page.
 */
export function CursorPaged<T extends TSchema>(item: T) {
  return Type.Object({
    items: Type.Array(item),
    total: Type.Integer(),
    page: Type.Integer(),
    limit: Type.Integer(),
    nextCursor: Type.Union([Type.String(), Type.Null()]),
    hasMore: Type.Boolean(),
  });
}

/** `?page&limit&cursor`: a cursor, when given, wins over `page`. */
export const CursorPageQuery = Type.Object(
  { page: Paging.page(), limit: Paging.limit({ default: 20 }), cursor: Type.Optional(Paging.cursor()) },
  { additionalProperties: false },
);

/** A list page as seed 003 pages lists: page or cursor, with the total (the shape `CursorPaged` declares). */
export interface KeysetPage<T> {
  items: T[];
  total: number;
  page: number;
  limit: number;
  nextCursor: string | null;
  hasMore: boolean;
}

/** Reads a page's rows: after a cursor's position, or from an offset; and the list's total. */
type PageFetch = (
  after: CursorPosition | undefined,
  offset: number,
  limit: number,
) => Promise<{ rows: Array<{ id: string }>; total: number }>;
type RowOf<F extends PageFetch> = Awaited<ReturnType<F>>['rows'][number];

/**
 * One page of a keyset-ordered list, by `page` or by `cursor`: `fetch` reads rows after `after` (a
 * cursor) or from `offset` (a page); a cursor page reads one row more to know whether another follows,
 * a numbered page has the total. `at` is the value of the list's first order column that the next
 * cursor records (its date, its like count, …).
 */
export async function keysetPage<F extends PageFetch, T>(
  query: { page: number; limit: number; cursor?: string | undefined },
  fetch: F,
  at: (row: RowOf<F>) => number,
  views: (rows: RowOf<F>[]) => T[] | Promise<T[]>,
): Promise<KeysetPage<T>> {
  const { page, limit } = query;
  const after = query.cursor === undefined ? undefined : decodeCursor(query.cursor);
  const { rows, total } = await fetch(after, after ? 0 : (page - 1) * limit, after ? limit + 1 : limit);
  const items = rows.slice(0, limit);
  const hasMore = after ? rows.length > limit : (page - 1) * limit + items.length < total;
  const last = items.at(-1);
  return {
    items: await views(items),
    total,
    page: after ? 1 : page,
    limit,
    nextCursor: hasMore && last ? encodeCursor({ at: at(last), id: last.id }) : null,
    hasMore,
  };
}

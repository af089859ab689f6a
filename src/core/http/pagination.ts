import { Type, type TSchema } from 'typebox';

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

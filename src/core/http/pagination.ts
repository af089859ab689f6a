import { Type, type TSchema } from 'typebox';

/** `?page&limit` as the seeds page lists: page from 1, 20 per page by default, at most 100. */
export const PageQuery = Type.Object(
  {
    page: Type.Integer({ minimum: 1, default: 1 }),
    limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }),
  },
  { additionalProperties: false },
);

/** `{items, total, page, limit}` (seed 001 §2.2, §3.3). */
export function Paged<T extends TSchema>(item: T) {
  return Type.Object({ items: Type.Array(item), total: Type.Integer(), page: Type.Integer(), limit: Type.Integer() });
}

import { keepPreviousData, useQuery } from '@tanstack/react-query';
import type { TablePaginationConfig } from 'antd';
import { useState } from 'react';
import { api, type Query } from './client.ts';
import type { Paged } from './types.ts';

/** How a page of a list is read: the `/api` answer as it is by default; seed 003's `/v1` lists unwrap their envelope. */
export type PageReader = <T>(path: string, query: Query) => Promise<Pick<Paged<T>, 'items' | 'total'>>;

const readApiPage: PageReader = (path, query) => api(path, { query });

/**
 * A `{items,total,page,limit}` list read a page at a time, with the table pagination that drives it
 * (the previous page stays shown while the next loads). `key` is the cache key's prefix, for invalidation.
 */
export function usePaged<T>(
  key: readonly unknown[],
  path: string,
  query: Query = {},
  limit = 20,
  read: PageReader = readApiPage,
) {
  const [paging, setPaging] = useState({ page: 1, limit });
  const result = useQuery({
    queryKey: [...key, query, paging],
    queryFn: () => read<T>(path, { ...query, ...paging }),
    placeholderData: keepPreviousData,
  });
  const pagination: TablePaginationConfig = {
    current: paging.page,
    pageSize: paging.limit,
    total: result.data?.total ?? 0,
    onChange: (page, pageSize) => setPaging({ page, limit: pageSize }),
  };
  return { ...result, pagination, firstPage: () => setPaging((p) => ({ ...p, page: 1 })) };
}

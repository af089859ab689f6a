import { keepPreviousData, useQuery } from '@tanstack/react-query';
import type { TablePaginationConfig } from 'antd';
import { useState } from 'react';
import type { Query } from './client.ts';
import { dream, type CursorPage } from './images.ts';

/**
 * `usePaged` for a seed 003 list (its page sits inside `{success, data}`): read a page at a time, with
 * the pagination that drives it; `key` is the cache key's prefix, for invalidation.
 */
export function useDreamPaged<T>(key: readonly unknown[], path: string, query: Query = {}, limit = 20) {
  const [paging, setPaging] = useState({ page: 1, limit });
  const result = useQuery({
    queryKey: [...key, query, paging],
    queryFn: () => dream<CursorPage<T>>(path, { query: { ...query, ...paging } }),
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

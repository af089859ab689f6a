import type { TableProps } from 'antd';
import type { usePaged } from '@/api/paged.ts';
import { ScrollTable } from './ScrollTable.tsx';

type PagedList<T> = Pick<ReturnType<typeof usePaged<T>>, 'isFetching' | 'data' | 'pagination'>;

/**
 * A list read a page at a time (`usePaged`) as a table: rows keyed by id (or `rowKey`), the list's pager, loading
 * while a page is read. On a phone, columns marked `responsive: ['md']` are left out, so a table
 * without `minWidth` fits the screen instead of scrolling sideways.
 */
export function PagedTable<T extends object>({
  list,
  label,
  columns,
  minWidth,
  sizeChanger = false,
  rowKey = 'id' as keyof T & string,
}: {
  list: PagedList<T>;
  label: string;
  /** The field that names a row (default `id`). */
  rowKey?: keyof T & string;
  columns: TableProps<T>['columns'];
  minWidth?: number;
  sizeChanger?: boolean;
}) {
  return (
    <ScrollTable<T>
      label={label}
      rowKey={rowKey}
      loading={list.isFetching}
      dataSource={list.data?.items}
      minWidth={minWidth}
      pagination={{ ...list.pagination, showSizeChanger: sizeChanger }}
      columns={columns}
    />
  );
}

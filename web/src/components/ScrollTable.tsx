import { Table, type TableProps } from 'antd';

/**
 * A table that scrolls sideways on a narrow screen inside a region a keyboard can reach (focusable,
 * named): antd's own `scroll.x` container cannot take focus, which leaves its overflow out of reach.
 */
export function ScrollTable<T extends object>({
  label,
  minWidth,
  ...props
}: TableProps<T> & { label: string; minWidth?: number }) {
  return (
    <div role="region" aria-label={label} tabIndex={0} style={{ overflowX: 'auto' }}>
      <Table<T> {...props} style={{ minWidth, ...props.style }} />
    </div>
  );
}

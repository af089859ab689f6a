import { Tag } from 'antd';
import type { OrderStatus } from '@/api/types.ts';
import { useI18n } from '@/i18n/index.tsx';

const COLORS: Record<OrderStatus, string | undefined> = {
  pending: 'gold',
  paid: 'blue',
  fulfilled: 'green',
  closed: undefined,
  partially_refunded: 'orange',
  refunded: 'red',
};

export function OrderStatusTag({ status }: { status: OrderStatus }) {
  const { t } = useI18n();
  return <Tag color={COLORS[status]}>{t(`order_${status}`)}</Tag>;
}

import { Badge, type BadgeProps } from 'antd';
import type { Refund } from '@/api/admin-people.ts';
import type { OrderStatus } from '@/api/types.ts';
import { useI18n } from '@/i18n/index.tsx';

const ORDER: Record<OrderStatus, BadgeProps['status']> = {
  pending: 'warning',
  paid: 'processing',
  fulfilled: 'success',
  closed: 'default',
  partially_refunded: 'warning',
  refunded: 'error',
};

const REFUND: Record<Refund['status'], BadgeProps['status']> = {
  pending: 'warning',
  succeeded: 'success',
  failed: 'error',
};

/** An order's status as a coloured dot and a word. */
export function OrderStatusTag({ status }: { status: OrderStatus }) {
  const { t } = useI18n();
  return <Badge status={ORDER[status]} text={t(`order_${status}`)} />;
}

export function RefundStatusTag({ status }: { status: Refund['status'] }) {
  const { t } = useI18n();
  return <Badge status={REFUND[status]} text={t(`apRefund_${status}`)} />;
}

import { DatePicker, Form, Input } from 'antd';
import type { Dayjs } from 'dayjs';
import { useState } from 'react';
import { Link } from 'react-router-dom';
import type { AdminOrder } from '@/api/admin-people.ts';
import { usePaged } from '@/api/paged.ts';
import type { OrderStatus } from '@/api/types.ts';
import { PagedTable } from '@/components/PagedTable.tsx';
import { dateTime, dayRange, money } from '@/format.ts';
import { useI18n } from '@/i18n/index.tsx';
import { ChoiceFilter, FilterBar } from '@/components/FilterBar.tsx';
import { PageTitle } from '@/pages/PageTitle.tsx';
import { OrderStatusTag } from './OrderStatusTag.tsx';

const STATUSES: OrderStatus[] = ['pending', 'paid', 'fulfilled', 'closed', 'partially_refunded', 'refunded'];

interface Filter {
  search?: string;
  userId?: string;
  status?: OrderStatus;
  provider?: 'wechat' | 'stripe';
  range?: [Dayjs, Dayjs] | null;
}

/** Every order, newest first: by order id or number, transaction id or provider reference, user, status, provider. */
export function OrdersPage() {
  const { t } = useI18n();
  const [filter, setFilter] = useState<Filter>({});
  const orders = usePaged<AdminOrder>(['admin', 'orders'], '/api/admin/orders', {
    search: filter.search?.trim() || undefined,
    userId: filter.userId?.trim() || undefined,
    status: filter.status,
    provider: filter.provider,
    ...dayRange(filter.range),
  });

  return (
    <>
      <PageTitle>{t('apOrders')}</PageTitle>
      <FilterBar<Filter> list={orders} onApply={setFilter}>
        <Form.Item name="search" label={t('apSearch')}>
          <Input allowClear placeholder={t('apOrderSearchHint')} style={{ width: 240 }} />
        </Form.Item>
        <Form.Item name="userId" label={t('apUserId')}>
          <Input allowClear style={{ width: 200 }} />
        </Form.Item>
        <ChoiceFilter
          name="status"
          label={t('status')}
          width={140}
          options={STATUSES.map((s) => ({ value: s, label: t(`order_${s}`) }))}
        />
        <ChoiceFilter
          name="provider"
          label={t('apProvider')}
          options={[
            { value: 'wechat', label: t('wechat_native') },
            { value: 'stripe', label: 'Stripe' },
          ]}
        />
        <Form.Item name="range" label={t('dates')}>
          <DatePicker.RangePicker />
        </Form.Item>
      </FilterBar>
      <PagedTable<AdminOrder>
        list={orders}
        label={t('apOrders')}
        sizeChanger
        columns={[
          {
            title: t('orderNo'),
            dataIndex: 'orderNo',
            render: (v: string, order) => (
              <Link to={`/admin/orders/${encodeURIComponent(order.id)}`} style={{ wordBreak: 'break-all' }}>
                {v}
              </Link>
            ),
          },
          { title: t('status'), dataIndex: 'status', render: (v: OrderStatus) => <OrderStatusTag status={v} /> },
          { title: t('apMoney'), align: 'right', render: (_, o) => money(o.amount, o.currency) },
          {
            title: t('apRefunded'),
            align: 'right',
            render: (_, o) => (o.refundedAmount > 0 ? money(o.refundedAmount, o.currency) : '—'),
            responsive: ['md'],
          },
          {
            title: t('apUser'),
            dataIndex: 'userId',
            responsive: ['md'],
            render: (v: string) => (
              <Link to={`/admin/users/${encodeURIComponent(v)}`} title={v} aria-label={v}>
                {v.slice(0, 8)}…
              </Link>
            ),
          },
          { title: t('description'), dataIndex: 'description', responsive: ['md'] },
          { title: t('apProvider'), dataIndex: 'provider', responsive: ['md'] },
          { title: t('createdAt'), dataIndex: 'createdAt', render: (v: string) => dateTime(v), responsive: ['md'] },
          { title: t('apPaidAt'), dataIndex: 'paidAt', render: (v: string | null) => dateTime(v), responsive: ['md'] },
        ]}
      />
    </>
  );
}

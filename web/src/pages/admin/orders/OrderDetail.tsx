import { ArrowLeftOutlined } from '@ant-design/icons';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { Alert, Button, Card, Col, Descriptions, Row, Space, Timeline } from 'antd';
import { useState } from 'react';
import { Link, useNavigate, useParams } from 'react-router-dom';
import { type AdminOrderDetail, orderPath, type Refund, REFUNDABLE } from '@/api/admin-people.ts';
import { api } from '@/api/client.ts';
import { ScrollTable } from '@/components/ScrollTable.tsx';
import { dateTime, money, number } from '@/format.ts';
import { useI18n } from '@/i18n/index.tsx';
import { PageTitle } from '@/pages/PageTitle.tsx';
import { OrderStatusTag, RefundStatusTag } from './OrderStatusTag.tsx';
import { RefundModal } from './RefundModal.tsx';

/** One order: what was bought and paid, its refunds (and a new one), its history. */
export function OrderDetailPage() {
  const { t } = useI18n();
  const id = useParams().id ?? '';
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const [refunding, setRefunding] = useState(false);
  const [outcome, setOutcome] = useState<string>();
  const order = useQuery({
    queryKey: ['admin', 'order', id],
    queryFn: () => api<AdminOrderDetail>(orderPath(id)),
  });
  const o = order.data;
  // refundRequested counts every refund asked for and not failed (succeeded or still pending).
  const left = o ? o.amount - o.refundRequested : 0;
  const pending = o ? o.refundRequested - o.refundedAmount : 0;
  const refundable = o !== undefined && REFUNDABLE.includes(o.status) && left > 0;

  return (
    <>
      <PageTitle
        extra={
          <Space wrap>
            {refundable && (
              <Button danger onClick={() => setRefunding(true)}>
                {t('apRefund')}
              </Button>
            )}
            <Button icon={<ArrowLeftOutlined />} onClick={() => void navigate('/admin/orders')}>
              {t('apBackToOrders')}
            </Button>
          </Space>
        }
      >
        {o ? t('apOrderTitle', { no: o.orderNo }) : t('apOrder')}
      </PageTitle>
      {order.error && <Alert type="error" showIcon message={order.error.message} />}
      {outcome && (
        <Alert
          type="success"
          showIcon
          closable
          message={outcome}
          onClose={() => setOutcome(undefined)}
          style={{ marginBottom: 16 }}
        />
      )}
      {o && (
        <Row gutter={[16, 16]}>
          <Col xs={24} lg={12}>
            <Card title={<h2 className="card-title">{t('apOrder')}</h2>}>
              <Descriptions column={1} size="small">
                <Descriptions.Item label={t('status')}>
                  <span data-testid="order-status">
                    <OrderStatusTag status={o.status} />
                  </span>
                </Descriptions.Item>
                <Descriptions.Item label={t('description')}>{o.description}</Descriptions.Item>
                <Descriptions.Item label={t('apMoney')}>{money(o.amount, o.currency)}</Descriptions.Item>
                <Descriptions.Item label={t('apRefunded')}>{money(o.refundedAmount, o.currency)}</Descriptions.Item>
                {pending > 0 && (
                  <Descriptions.Item label={t('apRefundPending')}>{money(pending, o.currency)}</Descriptions.Item>
                )}
                <Descriptions.Item label={t('apUser')}>
                  <Link to={`/admin/users/${encodeURIComponent(o.userId)}`}>{o.userId}</Link>
                </Descriptions.Item>
                <Descriptions.Item label={t('apGrants')}>
                  {o.kind === 'plan' ? `${t('plan')} ${o.planCode ?? ''}` : `${number(o.credits)} ${t('credits')}`}
                </Descriptions.Item>
                <Descriptions.Item label={t('apProvider')}>
                  {o.provider} · {t(o.channel)}
                </Descriptions.Item>
                <Descriptions.Item label={t('apTransaction')}>{o.transactionId ?? '—'}</Descriptions.Item>
                <Descriptions.Item label={t('createdAt')}>{dateTime(o.createdAt)}</Descriptions.Item>
                <Descriptions.Item label={t('apPaidAt')}>{dateTime(o.paidAt)}</Descriptions.Item>
                {o.note && <Descriptions.Item label={t('apNote')}>{o.note}</Descriptions.Item>}
              </Descriptions>
            </Card>
          </Col>
          <Col xs={24} lg={12}>
            <Card title={<h2 className="card-title">{t('apHistory')}</h2>}>
              <Timeline
                items={o.events.map((e) => ({
                  children: `${dateTime(e.at)} · ${e.type} (${e.via})${e.detail ? ` · ${e.detail}` : ''}`,
                }))}
              />
            </Card>
          </Col>
          <Col span={24}>
            <Card title={<h2 className="card-title">{t('apRefunds')}</h2>}>
              <ScrollTable<Refund>
                label={t('apRefunds')}
                rowKey="id"
                minWidth={860}
                size="small"
                pagination={false}
                dataSource={o.refunds}
                columns={[
                  { title: t('time'), dataIndex: 'createdAt', render: (v: string) => dateTime(v) },
                  { title: t('apMoney'), align: 'right', render: (_, r) => money(r.amount, r.currency) },
                  { title: t('reason'), dataIndex: 'reason' },
                  {
                    title: t('status'),
                    dataIndex: 'status',
                    render: (v: Refund['status']) => <RefundStatusTag status={v} />,
                  },
                  { title: t('apCreditsReversed'), dataIndex: 'creditsReversed', align: 'right', render: number },
                  { title: t('apShortfall'), dataIndex: 'creditsShortfall', align: 'right', render: number },
                  { title: t('apPlanEffect'), dataIndex: 'planEffect', render: (v: string | null) => v ?? '—' },
                ]}
              />
            </Card>
          </Col>
        </Row>
      )}
      {o && (
        <RefundModal
          open={refunding}
          order={o}
          left={left}
          onClose={() => setRefunding(false)}
          onDone={(after) => {
            setRefunding(false);
            queryClient.setQueryData(['admin', 'order', id], after);
            void queryClient.invalidateQueries({ queryKey: ['admin', 'orders'] });
            setOutcome(t('apRefundDone', { status: t(`order_${after.status}`) }));
          }}
        />
      )}
    </>
  );
}

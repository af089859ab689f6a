import { useQuery, useQueryClient } from '@tanstack/react-query';
import { Alert, App, Badge, Button, Card, Col, List, Modal, Row, Space, Tag, Typography } from 'antd';
import { useCallback, useState } from 'react';
import { api } from '@/api/client.ts';
import { usePaged } from '@/api/paged.ts';
import type { Checkout, MyPlan, Order, OrderOptions, PayChannel, Plan } from '@/api/types.ts';
import { PaymentFollower } from '@/components/PaymentFollower.tsx';
import { dateTime, money, number } from '@/format.ts';
import { useI18n } from '@/i18n/index.tsx';
import { PagedTable } from '@/components/PagedTable.tsx';
import { PageTitle } from '@/pages/PageTitle.tsx';

/** The ways this page can pay: a QR code to scan, or Stripe's hosted page. */
const WEB_CHANNELS: PayChannel[] = ['wechat_native', 'stripe_checkout'];
const STATUS_BADGE: Record<Order['status'], 'processing' | 'success' | 'default' | 'warning'> = {
  pending: 'processing',
  paid: 'success',
  fulfilled: 'success',
  closed: 'default',
  partially_refunded: 'warning',
  refunded: 'warning',
};

/** A plan's name and benefits in the visitor's language, else in the one the plan has. */
function planText(plan: Plan & { nameEn?: string | null; benefitsEn?: string[] | null }, lang: string) {
  const english = lang === 'en';
  return {
    name: (english && plan.nameEn) || plan.name,
    benefits: english && plan.benefitsEn?.length ? plan.benefitsEn : plan.benefits,
  };
}

export function PlansPage() {
  const { t, lang } = useI18n();
  const { message } = App.useApp();
  const queryClient = useQueryClient();
  const [paying, setPaying] = useState<{ order: Order; codeUrl: string }>();
  const [busy, setBusy] = useState<string>();
  const plans = useQuery({ queryKey: ['plans'], queryFn: () => api<Plan[]>('/api/plans') });
  const mine = useQuery({ queryKey: ['plan'], queryFn: () => api<MyPlan>('/api/plans/me') });
  const options = useQuery({ queryKey: ['order-options'], queryFn: () => api<OrderOptions>('/api/orders/options') });
  const orders = usePaged<Order>(['orders'], '/api/orders', {}, 10);
  const channels = (options.data?.channels ?? []).filter((c) => WEB_CHANNELS.includes(c));
  const planName = (held: { id: string; name: string }) => {
    const offered = plans.data?.find((p) => p.id === held.id);
    return offered ? planText(offered, lang).name : held.name;
  };
  const fetchOrder = useCallback((id: string) => api<Order>(`/api/orders/${encodeURIComponent(id)}`), []);

  const buy = async (plan: Plan, channel: PayChannel) => {
    setBusy(`${plan.id}:${channel}`);
    try {
      const back = `${window.location.origin}/dashboard/plans`;
      const created = await api<{ order: Order; checkout: Checkout }>('/api/orders', {
        method: 'POST',
        body: {
          kind: 'plan',
          planId: plan.id,
          channel,
          ...(channel === 'stripe_checkout' ? { successUrl: `${back}?paid=1`, cancelUrl: back } : {}),
        },
      });
      void queryClient.invalidateQueries({ queryKey: ['orders'] });
      if (created.checkout.channel === 'wechat_native')
        setPaying({ order: created.order, codeUrl: created.checkout.codeUrl });
      else if (created.checkout.channel === 'stripe_checkout') window.location.assign(created.checkout.url);
    } catch (error) {
      void message.error((error as Error).message);
    } finally {
      setBusy(undefined);
    }
  };

  const paid = () => {
    for (const key of ['plan', 'orders', 'balance', 'ledger']) void queryClient.invalidateQueries({ queryKey: [key] });
  };

  return (
    <>
      <PageTitle>{t('navPlans')}</PageTitle>
      {mine.data?.plan && (
        <Alert
          type="success"
          showIcon
          style={{ marginBottom: 16 }}
          title={`${t('currentPlan')}: ${planName(mine.data.plan)}`}
          description={mine.data.lifetime ? t('lifetime') : t('expires', { date: dateTime(mine.data.expiresAt) })}
        />
      )}
      {options.data && channels.length === 0 && (
        <Alert type="info" showIcon title={t('paymentsOff')} style={{ marginBottom: 16 }} />
      )}
      <Typography.Title level={2} style={{ fontSize: 18 }}>
        {t('plans')}
      </Typography.Title>
      <Row gutter={[16, 16]} style={{ marginBottom: 24 }}>
        {plans.data?.map((plan) => (
          <Col key={plan.id} xs={24} md={12} xl={8}>
            <Card
              title={<h3 style={{ margin: 0, fontSize: 16 }}>{planText(plan, lang).name}</h3>}
              extra={<Typography.Text strong>{money(plan.price, plan.currency)}</Typography.Text>}
              data-testid={`plan-${plan.code}`}
              actions={channels.map((channel) => (
                <Button
                  key={channel}
                  type="link"
                  loading={busy === `${plan.id}:${channel}`}
                  onClick={() => void buy(plan, channel)}
                >
                  {t('buy')} · {t(channel)}
                </Button>
              ))}
            >
              <Space direction="vertical" style={{ width: '100%' }}>
                {plan.description && <Typography.Text type="secondary">{plan.description}</Typography.Text>}
                <Tag>{plan.lifetime ? t('lifetime') : t('perDays', { days: plan.durationDays ?? 0 })}</Tag>
                <List
                  size="small"
                  dataSource={[
                    ...plan.entitlements.allowances.map(
                      (a) =>
                        `${t('allowanceOf', { metric: t(`metric_${a.metric}`), period: t(`period_${a.period}`) })}: ${number(a.limit)}`,
                    ),
                    ...(plan.entitlements.creditsOnActivation > 0
                      ? [`+${number(plan.entitlements.creditsOnActivation)} ${t('credits')}`]
                      : []),
                    ...planText(plan, lang).benefits,
                  ]}
                  renderItem={(line) => <List.Item>{line}</List.Item>}
                />
              </Space>
            </Card>
          </Col>
        ))}
      </Row>
      <Typography.Title level={2} style={{ fontSize: 18 }}>
        {t('orders')}
      </Typography.Title>
      <PagedTable<Order>
        label={t('orders')}
        list={orders}
        columns={[
          { title: t('orderNo'), dataIndex: 'orderNo', responsive: ['md'] },
          { title: t('description'), dataIndex: 'description' },
          { title: t('amount'), dataIndex: 'amount', align: 'right', render: (v: number, o) => money(v, o.currency) },
          {
            title: t('status'),
            dataIndex: 'status',
            render: (v: Order['status']) => <Badge status={STATUS_BADGE[v]} text={t(`order_${v}`)} />,
          },
          { title: t('createdAt'), dataIndex: 'createdAt', render: (v: string) => dateTime(v) },
        ]}
      />
      <Modal
        open={paying !== undefined}
        title={t('wechat_native')}
        footer={null}
        onCancel={() => {
          setPaying(undefined);
          void queryClient.invalidateQueries({ queryKey: ['orders'] });
        }}
        destroyOnHidden
      >
        {paying && (
          <PaymentFollower order={paying.order} codeUrl={paying.codeUrl} fetchOrder={fetchOrder} onPaid={paid} />
        )}
      </Modal>
    </>
  );
}

import { useQuery } from '@tanstack/react-query';
import { Alert, Card, Col, Row, Segmented, Space, Statistic, Typography } from 'antd';
import { useState } from 'react';
import type { AdminOverview } from '@/api/admin-people.ts';
import { api } from '@/api/client.ts';
import { money, number } from '@/format.ts';
import { useI18n } from '@/i18n/index.tsx';
import { PageTitle } from '@/pages/PageTitle.tsx';
import { errorRate, ms } from './figures.ts';
import { OverviewCharts } from './OverviewCharts.tsx';
import { OverviewTable } from './OverviewTable.tsx';

function Figure({
  title,
  value,
  detail,
  loading,
}: {
  title: string;
  value: string;
  detail?: string;
  loading: boolean;
}) {
  return (
    <Col xs={12} md={8} xl={6}>
      <Card size="small" role="group" aria-label={title} loading={loading} style={{ height: '100%' }}>
        <Statistic title={title} value={value} />
        {detail && <Typography.Text type="secondary">{detail}</Typography.Text>}
      </Card>
    </Col>
  );
}

/** The admin's landing page: the figures of the last 7 or 30 days and their charts, per day. */
export function AdminOverviewPage() {
  const { t } = useI18n();
  const [days, setDays] = useState(7);
  const [view, setView] = useState<'charts' | 'table'>('charts');
  const overview = useQuery({
    queryKey: ['admin', 'overview', days],
    queryFn: () => api<AdminOverview>('/api/admin/overview', { query: { days } }),
  });
  const totals = overview.data?.totals;

  return (
    <>
      <PageTitle
        extra={
          <Space wrap>
            <Segmented<number>
              aria-label={t('apPeriod')}
              value={days}
              onChange={setDays}
              options={[
                { value: 7, label: t('last7') },
                { value: 30, label: t('last30') },
              ]}
            />
            <Segmented<'charts' | 'table'>
              aria-label={t('apView')}
              value={view}
              onChange={setView}
              options={[
                { value: 'charts', label: t('apCharts') },
                { value: 'table', label: t('apTable') },
              ]}
            />
          </Space>
        }
      >
        {t('apOverview')}
      </PageTitle>
      {overview.error && <Alert type="error" showIcon message={overview.error.message} style={{ marginBottom: 16 }} />}
      <section aria-label={t('apFigures')}>
        <Row gutter={[12, 12]} style={{ marginBottom: 16 }}>
          <Figure
            loading={overview.isPending}
            title={t('apUsers')}
            value={number(totals?.users ?? 0)}
            detail={t('apNewUsersIn', { n: number(totals?.newUsers ?? 0) })}
          />
          <Figure loading={overview.isPending} title={t('calls')} value={number(totals?.calls ?? 0)} />
          <Figure
            loading={overview.isPending}
            title={t('apUpstreamErrors')}
            value={number(totals?.errors ?? 0)}
            detail={errorRate(totals?.errors ?? 0, totals?.calls ?? 0)}
          />
          <Figure
            loading={overview.isPending}
            title={t('latency')}
            value={ms(totals?.latencyAvgMs ?? null)}
            detail={`p95 ${ms(totals?.latencyP95Ms ?? null)}`}
          />
          <Figure
            loading={overview.isPending}
            title={t('apCreditsGranted')}
            value={number(totals?.creditsGranted ?? 0)}
          />
          <Figure loading={overview.isPending} title={t('apCreditsSpent')} value={number(totals?.creditsSpent ?? 0)} />
          {(totals?.revenue.length ? totals.revenue : [{ currency: 'CNY', received: 0, refunded: 0, net: 0 }]).map(
            (r) => (
              <Figure
                loading={overview.isPending}
                key={r.currency}
                title={`${t('apRevenue')} (${r.currency})`}
                value={money(r.net, r.currency)}
                detail={t('apReceivedRefunded', {
                  received: money(r.received, r.currency),
                  refunded: money(r.refunded, r.currency),
                })}
              />
            ),
          )}
        </Row>
      </section>
      {overview.data &&
        (view === 'charts' ? <OverviewCharts overview={overview.data} /> : <OverviewTable overview={overview.data} />)}
    </>
  );
}

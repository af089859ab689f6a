import type { AdminOverview, OverviewDay } from '@/api/admin-people.ts';
import { ScrollTable } from '@/components/ScrollTable.tsx';
import { money, number } from '@/format.ts';
import { useI18n } from '@/i18n/index.tsx';
import { errorRate, ms } from './figures.ts';

/** The overview's days as a table, newest first: every figure the charts draw, exactly. */
export function OverviewTable({ overview }: { overview: AdminOverview }) {
  const { t } = useI18n();
  const revenueOf = (date: string) =>
    overview.revenue
      .filter((r) => r.date === date)
      .map((r) => money(r.net, r.currency))
      .join(' ') || '—';
  return (
    <ScrollTable<OverviewDay>
      label={t('apDailyFigures')}
      rowKey="date"
      minWidth={960}
      size="small"
      pagination={false}
      dataSource={[...overview.daily].reverse()}
      columns={[
        { title: t('apDate'), dataIndex: 'date' },
        { title: t('apNewUsers'), dataIndex: 'newUsers', align: 'right', render: number },
        { title: t('calls'), dataIndex: 'calls', align: 'right', render: number },
        { title: t('apUpstreamErrors'), dataIndex: 'errors', align: 'right', render: number },
        {
          title: t('apErrorRate'),
          align: 'right',
          render: (_, d) => errorRate(d.errors, d.calls),
        },
        { title: t('apCreditsGranted'), dataIndex: 'creditsGranted', align: 'right', render: number },
        { title: t('apCreditsSpent'), dataIndex: 'creditsSpent', align: 'right', render: number },
        { title: t('apRevenue'), align: 'right', render: (_, d) => revenueOf(d.date) },
        { title: t('apLatencyAvg'), dataIndex: 'latencyAvgMs', align: 'right', render: ms },
        { title: t('apLatencyP95'), dataIndex: 'latencyP95Ms', align: 'right', render: ms },
      ]}
    />
  );
}

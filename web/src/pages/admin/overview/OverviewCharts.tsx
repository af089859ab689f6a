import { Card, Col, Row, theme } from 'antd';
import type { ReactElement } from 'react';
import {
  Bar,
  BarChart,
  CartesianGrid,
  Legend,
  Line,
  LineChart,
  ResponsiveContainer,
  Tooltip,
  XAxis,
  YAxis,
} from 'recharts';
import type { AdminOverview } from '@/api/admin-people.ts';
import { useI18n } from '@/i18n/index.tsx';

function ChartCard({ title, testId, children }: { title: string; testId: string; children: ReactElement }) {
  return (
    <Col xs={24} xl={12}>
      <Card title={<h2 className="card-title">{title}</h2>} size="small">
        <div data-testid={testId} role="img" aria-label={title} style={{ width: '100%', height: 240 }}>
          <ResponsiveContainer>{children}</ResponsiveContainer>
        </div>
      </Card>
    </Col>
  );
}

/** The overview's days drawn: calls (failed ones apart), credits granted and spent, revenue, error rate, latency. */
export function OverviewCharts({ overview }: { overview: AdminOverview }) {
  const { t } = useI18n();
  const { token } = theme.useToken();
  const currencies = [...new Set(overview.revenue.map((r) => r.currency))].sort();
  const rows = overview.daily.map((d) => {
    const row: Record<string, string | number | null> = {
      date: d.date.slice(5),
      ok: d.calls - d.errors,
      errors: d.errors,
      granted: d.creditsGranted,
      spent: d.creditsSpent,
      errorRate: d.calls === 0 ? null : Number(((d.errors / d.calls) * 100).toFixed(1)),
      avg: d.latencyAvgMs,
      p95: d.latencyP95Ms,
    };
    // Net revenue in major units (yuan, dollars): the figures above and the table keep the exact minor units.
    for (const c of currencies)
      row[c] =
        overview.revenue.filter((r) => r.date === d.date && r.currency === c).reduce((n, r) => n + r.net, 0) / 100;
    return row;
  });
  const axes = [
    <CartesianGrid key="grid" strokeDasharray="3 3" stroke={token.colorBorderSecondary} />,
    <XAxis key="x" dataKey="date" stroke={token.colorTextSecondary} />,
    <Tooltip
      key="tip"
      contentStyle={{ background: token.colorBgElevated, border: 'none' }}
      itemStyle={{ color: token.colorText }}
    />,
    <Legend key="legend" />,
  ];
  const palette = [token.colorPrimary, token.colorWarning, token.colorSuccess, token.colorInfo];

  return (
    <Row gutter={[16, 16]}>
      <ChartCard title={t('apCallsChart')} testId="chart-calls">
        <BarChart data={rows}>
          {axes}
          <YAxis allowDecimals={false} stroke={token.colorTextSecondary} />
          <Bar dataKey="ok" name={t('ok')} stackId="calls" fill={token.colorPrimary} />
          <Bar dataKey="errors" name={t('error')} stackId="calls" fill={token.colorError} />
        </BarChart>
      </ChartCard>
      <ChartCard title={t('apCreditsChart')} testId="chart-credits">
        <BarChart data={rows}>
          {axes}
          <YAxis allowDecimals={false} stroke={token.colorTextSecondary} />
          <Bar dataKey="granted" name={t('apCreditsGranted')} fill={token.colorSuccess} />
          <Bar dataKey="spent" name={t('apCreditsSpent')} fill={token.colorWarning} />
        </BarChart>
      </ChartCard>
      <ChartCard title={t('apRevenueChart')} testId="chart-revenue">
        <BarChart data={rows}>
          {axes}
          <YAxis stroke={token.colorTextSecondary} />
          {currencies.map((c, i) => (
            <Bar key={c} dataKey={c} name={c} fill={palette[i % palette.length]} />
          ))}
        </BarChart>
      </ChartCard>
      <ChartCard title={t('apErrorRateChart')} testId="chart-errors">
        <LineChart data={rows}>
          {axes}
          <YAxis unit="%" stroke={token.colorTextSecondary} />
          <Line dataKey="errorRate" name={t('apErrorRate')} stroke={token.colorError} connectNulls />
        </LineChart>
      </ChartCard>
      <ChartCard title={t('apLatencyChart')} testId="chart-latency">
        <LineChart data={rows}>
          {axes}
          <YAxis unit=" ms" stroke={token.colorTextSecondary} />
          <Line dataKey="avg" name={t('apLatencyAvg')} stroke={token.colorPrimary} connectNulls />
          <Line dataKey="p95" name={t('apLatencyP95')} stroke={token.colorWarning} connectNulls />
        </LineChart>
      </ChartCard>
    </Row>
  );
}

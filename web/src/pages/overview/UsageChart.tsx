import { useQuery } from '@tanstack/react-query';
import { Card, Empty, Segmented, Space, theme } from 'antd';
import { useMemo, useState } from 'react';
import { Bar, BarChart, CartesianGrid, Legend, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { api } from '@/api/client.ts';
import type { DailyByModel } from '@/api/types.ts';
import { useI18n } from '@/i18n/index.tsx';

type Metric = 'requests' | 'tokens' | 'credits';
const COLORS = ['#1677ff', '#52c41a', '#fa8c16', '#eb2f96', '#722ed1', '#13c2c2', '#a0d911', '#fadb14'];

const valueOf = (row: DailyByModel, metric: Metric) =>
  metric === 'tokens' ? row.inputTokens + row.outputTokens : metric === 'requests' ? row.requests : row.credits;

/** One bar per day, stacked by model: calls, tokens or credits over the last 7 or 30 days. */
export function UsageChart() {
  const { t } = useI18n();
  const { token } = theme.useToken();
  const [days, setDays] = useState(7);
  const [metric, setMetric] = useState<Metric>('requests');
  const usage = useQuery({
    queryKey: ['usage', 'daily-by-model', days],
    queryFn: () => api<{ dates: string[]; items: DailyByModel[] }>('/api/usage/daily-by-model', { query: { days } }),
  });

  const { rows, models } = useMemo(() => {
    const items = usage.data?.items ?? [];
    const models = [...new Set(items.map((i) => i.model))].sort();
    // The server's days (its time zone), so today's calls are today's bar wherever the browser is.
    const rows = (usage.data?.dates ?? []).map((day) => {
      const row: Record<string, string | number> = { date: day.slice(5) };
      for (const item of items.filter((x) => x.date === day)) row[item.model] = valueOf(item, metric);
      return row;
    });
    return { rows, models };
  }, [usage.data, metric]);

  return (
    <Card
      title={<h2 className="card-title">{t('usageChart')}</h2>}
      loading={usage.isPending}
      extra={
        <Space wrap>
          <Segmented<Metric>
            aria-label={t('usageChart')}
            value={metric}
            onChange={setMetric}
            options={[
              { value: 'requests', label: t('calls') },
              { value: 'tokens', label: t('tokens') },
              { value: 'credits', label: t('metric_credits') },
            ]}
          />
          <Segmented<number>
            value={days}
            onChange={setDays}
            options={[
              { value: 7, label: t('last7') },
              { value: 30, label: t('last30') },
            ]}
          />
        </Space>
      }
    >
      {models.length === 0 ? (
        <Empty description={t('noUsage')} />
      ) : (
        <div data-testid="usage-chart" style={{ width: '100%', height: 280 }}>
          <ResponsiveContainer>
            <BarChart data={rows}>
              <CartesianGrid strokeDasharray="3 3" stroke={token.colorBorderSecondary} />
              <XAxis dataKey="date" stroke={token.colorTextSecondary} />
              <YAxis allowDecimals={false} stroke={token.colorTextSecondary} />
              <Tooltip
                contentStyle={{ background: token.colorBgElevated, border: 'none' }}
                itemStyle={{ color: token.colorText }}
              />
              <Legend />
              {models.map((model, i) => (
                <Bar key={model} dataKey={model} stackId="models" fill={COLORS[i % COLORS.length]} />
              ))}
            </BarChart>
          </ResponsiveContainer>
        </div>
      )}
    </Card>
  );
}

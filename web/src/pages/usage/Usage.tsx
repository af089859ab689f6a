import { DownloadOutlined } from '@ant-design/icons';
import { useQuery } from '@tanstack/react-query';
import { App, Badge, Button, DatePicker, Form, Input } from 'antd';
import type { Dayjs } from 'dayjs';
import { useState } from 'react';
import { api } from '@/api/client.ts';
import { usePaged } from '@/api/paged.ts';
import type { ApiKey, Paged, UsageLog } from '@/api/types.ts';
import { dateTime, dayRange, number } from '@/format.ts';
import { useI18n } from '@/i18n/index.tsx';
import { PagedTable } from '@/components/PagedTable.tsx';
import { ChoiceFilter, FilterBar } from '@/components/FilterBar.tsx';
import { PageTitle } from '@/pages/PageTitle.tsx';
import { download, toCsv } from './csv.ts';

interface Filter {
  keyId?: string;
  model?: string;
  status?: 'ok' | 'error';
  range?: [Dayjs, Dayjs] | null;
}

const queryOf = (filter: Filter) => ({
  keyId: filter.keyId,
  model: filter.model?.trim() || undefined,
  status: filter.status,
  ...dayRange(filter.range),
});

/** Pages through every call matching the filter (100 a page, at most 100 pages) for the export. */
async function allLogs(filter: Filter): Promise<UsageLog[]> {
  const rows: UsageLog[] = [];
  for (let page = 1; page <= 100; page++) {
    const result = await api<Paged<UsageLog>>('/api/usage/logs', { query: { ...queryOf(filter), page, limit: 100 } });
    rows.push(...result.items);
    if (rows.length >= result.total || result.items.length === 0) break;
  }
  return rows;
}

export function UsagePage() {
  const { t } = useI18n();
  const { message } = App.useApp();
  const [filter, setFilter] = useState<Filter>({});
  const [exporting, setExporting] = useState(false);
  const keys = useQuery({ queryKey: ['keys'], queryFn: () => api<{ items: ApiKey[] }>('/api/keys') });
  const logs = usePaged<UsageLog>(['usage', 'logs'], '/api/usage/logs', queryOf(filter));
  const keyName = new Map(keys.data?.items.map((k) => [k.id, k.name]));

  const exportCsv = async () => {
    setExporting(true);
    try {
      const rows = await allLogs(filter);
      const csv = toCsv(
        [
          'time',
          'key',
          'model',
          'endpoint',
          'stream',
          'status',
          'http_status',
          'input_tokens',
          'output_tokens',
          'credits',
          'latency_ms',
          'request_id',
        ],
        rows.map((r) => [
          r.createdAt,
          r.keyId ? (keyName.get(r.keyId) ?? r.keyId) : '',
          r.model,
          r.endpoint,
          r.stream,
          r.status,
          r.httpStatus,
          r.inputTokens,
          r.outputTokens,
          r.credits,
          r.latencyMs,
          r.requestId,
        ]),
      );
      download(`tollgate-usage-${new Date().toISOString().slice(0, 10)}.csv`, csv);
    } catch (error) {
      void message.error((error as Error).message);
    } finally {
      setExporting(false);
    }
  };

  return (
    <>
      <PageTitle
        extra={
          <Button icon={<DownloadOutlined />} loading={exporting} onClick={() => void exportCsv()}>
            {t('exportCsv')}
          </Button>
        }
      >
        {t('usage')}
      </PageTitle>
      <FilterBar<Filter> list={logs} onApply={setFilter}>
        <ChoiceFilter
          name="keyId"
          label={t('key')}
          width={160}
          options={keys.data?.items.map((k) => ({ value: k.id, label: k.name }))}
        />
        <Form.Item name="model" label={t('model')}>
          <Input allowClear style={{ width: 160 }} />
        </Form.Item>
        <ChoiceFilter
          name="status"
          label={t('status')}
          options={[
            { value: 'ok', label: t('ok') },
            { value: 'error', label: t('error') },
          ]}
        />
        <Form.Item name="range" label={t('dates')}>
          <DatePicker.RangePicker />
        </Form.Item>
      </FilterBar>
      <PagedTable<UsageLog>
        label={t('usage')}
        list={logs}
        minWidth={900}
        sizeChanger
        columns={[
          { title: t('time'), dataIndex: 'createdAt', render: (v: string) => dateTime(v) },
          { title: t('key'), dataIndex: 'keyId', render: (v: string | null) => (v ? (keyName.get(v) ?? '—') : '—') },
          { title: t('model'), dataIndex: 'model' },
          {
            title: t('status'),
            dataIndex: 'status',
            render: (v: string, row) => (
              <Badge
                status={v === 'ok' ? 'success' : 'error'}
                text={`${v === 'ok' ? t('ok') : t('error')} ${row.httpStatus}`}
              />
            ),
          },
          { title: t('inputTokens'), dataIndex: 'inputTokens', align: 'right', render: number },
          { title: t('outputTokens'), dataIndex: 'outputTokens', align: 'right', render: number },
          { title: t('metric_credits'), dataIndex: 'credits', align: 'right', render: number },
          { title: t('latency'), dataIndex: 'latencyMs', align: 'right', render: (v: number) => `${number(v)} ms` },
        ]}
      />
    </>
  );
}

import { Badge } from 'antd';
import { type UsageLog, userPath } from '@/api/admin-people.ts';
import { usePaged } from '@/api/paged.ts';
import { ScrollTable } from '@/components/ScrollTable.tsx';
import { dateTime, number } from '@/format.ts';
import { useI18n } from '@/i18n/index.tsx';

/** The account's metered calls, newest first. */
export function UserUsage({ userId }: { userId: string }) {
  const { t } = useI18n();
  const logs = usePaged<UsageLog>(['admin', 'user', userId, 'usage'], userPath(userId, '/usage'));
  return (
    <ScrollTable<UsageLog>
      label={t('usage')}
      rowKey="id"
      minWidth={820}
      size="small"
      loading={logs.isFetching}
      dataSource={logs.data?.items}
      pagination={logs.pagination}
      columns={[
        { title: t('time'), dataIndex: 'createdAt', render: (v: string) => dateTime(v) },
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
  );
}

import { Badge } from 'antd';
import { type UsageLog, userPath } from '@/api/admin-people.ts';
import { usePaged } from '@/api/paged.ts';
import { PagedTable } from '@/components/PagedTable.tsx';
import { dateTime, number } from '@/format.ts';
import { useI18n } from '@/i18n/index.tsx';

/** The account's metered calls, newest first. */
export function UserUsage({ userId }: { userId: string }) {
  const { t } = useI18n();
  const logs = usePaged<UsageLog>(['admin', 'user', userId, 'usage'], userPath(userId, '/usage'));
  return (
    <PagedTable<UsageLog>
      list={logs}
      label={t('usage')}
      columns={[
        { title: t('time'), dataIndex: 'createdAt', render: (v: string) => dateTime(v) },
        { title: t('model'), dataIndex: 'model', responsive: ['sm'] },
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
        { title: t('inputTokens'), dataIndex: 'inputTokens', align: 'right', render: number, responsive: ['md'] },
        { title: t('outputTokens'), dataIndex: 'outputTokens', align: 'right', render: number, responsive: ['md'] },
        { title: t('metric_credits'), dataIndex: 'credits', align: 'right', render: number },
        {
          title: t('latency'),
          dataIndex: 'latencyMs',
          align: 'right',
          render: (v: number) => `${number(v)} ms`,
          responsive: ['md'],
        },
      ]}
    />
  );
}

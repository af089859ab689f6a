import { Card, List, Space, Typography, type PaginationProps } from 'antd';
import type { AuditEntry } from '@/api/admin-people.ts';
import { dateTime } from '@/format.ts';
import { useI18n } from '@/i18n/index.tsx';
import { AuditChange } from './AuditChange.tsx';
import { Actor, Target } from './AuditParts.tsx';

/** The audit log on a narrow screen: one card per entry, its before and after shown. */
export function AuditCards(props: {
  entries: AuditEntry[] | undefined;
  loading: boolean;
  pagination: PaginationProps;
}) {
  const { t } = useI18n();
  return (
    <List<AuditEntry>
      aria-label={t('apAudit')}
      loading={props.loading}
      dataSource={props.entries}
      pagination={{ ...props.pagination, simple: true, align: 'center' }}
      rowKey="id"
      renderItem={(entry) => (
        <List.Item>
          <Card size="small" style={{ width: '100%' }}>
            <Space direction="vertical" style={{ width: '100%' }}>
              <Typography.Text code>{entry.action}</Typography.Text>
              <Typography.Text type="secondary">
                {dateTime(entry.createdAt)} · {entry.ip}
              </Typography.Text>
              <span>
                {t('apActor')}: <Actor entry={entry} />
              </span>
              <span>
                {t('apTarget')}: <Target entry={entry} />
              </span>
              <AuditChange
                before={entry.before}
                after={entry.after}
                label={t('apChangeOf', { action: entry.action })}
              />
            </Space>
          </Card>
        </List.Item>
      )}
    />
  );
}

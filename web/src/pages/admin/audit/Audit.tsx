import { AutoComplete, DatePicker, Form, Grid, Input, Typography } from 'antd';
import type { Dayjs } from 'dayjs';
import { useState } from 'react';
import { useSearchParams } from 'react-router-dom';
import type { AuditEntry } from '@/api/admin-people.ts';
import { usePaged } from '@/api/paged.ts';
import { ScrollTable } from '@/components/ScrollTable.tsx';
import { dateTime, dayRange } from '@/format.ts';
import { useI18n } from '@/i18n/index.tsx';
import { FilterBar } from '@/components/FilterBar.tsx';
import { PageTitle } from '@/pages/PageTitle.tsx';
import { AuditCards } from './AuditCards.tsx';
import { AuditChange } from './AuditChange.tsx';
import { Actor, Target } from './AuditParts.tsx';

interface Filter {
  actor?: string;
  action?: string;
  targetType?: string;
  targetId?: string;
  range?: [Dayjs, Dayjs] | null;
}

/** The admin actions of the console's areas, for the action filter's suggestions (the log records any). */
const KNOWN_ACTIONS = [
  'POST /api/admin/users/:id/credits',
  'PUT /api/admin/users/:id/plan',
  'DELETE /api/admin/users/:id/plan',
  'POST /api/admin/users/:id/disable',
  'POST /api/admin/users/:id/enable',
  'PUT /api/admin/users/:id/role',
  'DELETE /api/admin/users/:id/sessions',
  'DELETE /api/admin/users/:id',
  'order.refund',
];

const trimmed = (value: string | undefined) => value?.trim() || undefined;

/** Every admin action, newest first: by who, what, on what, when; each with its before and after. */
export function AuditPage() {
  const { t } = useI18n();
  // On a phone each entry is a card with its change shown, not a row to scroll sideways and expand.
  const phone = !Grid.useBreakpoint().md;
  const [params] = useSearchParams();
  const initial: Filter = {
    targetType: params.get('targetType') ?? undefined,
    targetId: params.get('targetId') ?? undefined,
  };
  const [filter, setFilter] = useState<Filter>(initial);
  const log = usePaged<AuditEntry>(['admin', 'audit'], '/api/admin/audit', {
    actor: trimmed(filter.actor),
    action: trimmed(filter.action),
    targetType: trimmed(filter.targetType),
    targetId: trimmed(filter.targetId),
    ...dayRange(filter.range),
  });
  const actions = [...new Set([...KNOWN_ACTIONS, ...(log.data?.items.map((e) => e.action) ?? [])])];

  return (
    <>
      <PageTitle>{t('apAudit')}</PageTitle>
      <FilterBar<Filter> list={log} onApply={setFilter} initialValues={initial}>
        <Form.Item name="actor" label={t('apActor')}>
          <Input allowClear placeholder={t('apActorHint')} style={{ width: 200 }} />
        </Form.Item>
        <Form.Item name="action" label={t('apAction')}>
          <AutoComplete
            allowClear
            style={{ width: 300 }}
            options={actions.map((a) => ({ value: a }))}
            filterOption={(input, option) => option?.value.toLowerCase().includes(input.toLowerCase()) ?? false}
          />
        </Form.Item>
        <Form.Item name="targetType" label={t('apTargetType')}>
          <Input allowClear placeholder="user, order, plan…" style={{ width: 140 }} />
        </Form.Item>
        <Form.Item name="targetId" label={t('apTargetId')}>
          <Input allowClear style={{ width: 200 }} />
        </Form.Item>
        <Form.Item name="range" label={t('dates')}>
          <DatePicker.RangePicker />
        </Form.Item>
      </FilterBar>
      {phone ? (
        <AuditCards entries={log.data?.items} loading={log.isFetching} pagination={log.pagination} />
      ) : (
        <ScrollTable<AuditEntry>
          label={t('apAudit')}
          rowKey="id"
          minWidth={900}
          loading={log.isFetching}
          dataSource={log.data?.items}
          pagination={{ ...log.pagination, showSizeChanger: true }}
          expandable={{
            expandedRowRender: (entry) => (
              <AuditChange
                before={entry.before}
                after={entry.after}
                label={t('apChangeOf', { action: entry.action })}
              />
            ),
          }}
          columns={[
            { title: t('time'), dataIndex: 'createdAt', render: (v: string) => dateTime(v) },
            { title: t('apActor'), render: (_, e) => <Actor entry={e} /> },
            {
              title: t('apAction'),
              dataIndex: 'action',
              render: (v: string) => <Typography.Text code>{v}</Typography.Text>,
            },
            { title: t('apTarget'), render: (_, e) => <Target entry={e} /> },
            { title: 'IP', dataIndex: 'ip' },
          ]}
        />
      )}
    </>
  );
}

import { useMutation, useQueryClient } from '@tanstack/react-query';
import { App, Badge, Button, Card, Input, Popconfirm, Select, Space, Typography } from 'antd';
import { useState } from 'react';
import {
  redeemApi,
  REDEEM_BATCHES_PATH,
  REDEEM_CODES_PATH,
  type CodeFilter,
  type RedeemBatch,
  type RedeemCode,
  type RedeemState,
} from '@/api/admin-catalog.ts';
import { usePaged } from '@/api/paged.ts';
import { PagedTable } from '@/components/PagedTable.tsx';
import { dateTime, number } from '@/format.ts';
import { useI18n } from '@/i18n/index.tsx';
import { PageTitle } from '@/pages/PageTitle.tsx';
import { download } from '@/pages/usage/csv.ts';
import { BatchForm } from './BatchForm.tsx';

const STATES: RedeemState[] = ['active', 'used', 'expired', 'disabled'];
const STATE_BADGE: Record<RedeemState, 'success' | 'default' | 'warning' | 'error'> = {
  active: 'success',
  used: 'default',
  expired: 'warning',
  disabled: 'error',
};

/** Admin: make batches of redeem codes, read and export them, disable a code or a whole batch. */
export function RedeemPage() {
  const { t } = useI18n();
  const { message } = App.useApp();
  const queryClient = useQueryClient();
  const [filter, setFilter] = useState<CodeFilter>({});
  const [exporting, setExporting] = useState(false);
  const codes = usePaged<RedeemCode>(['admin', 'redeem'], REDEEM_CODES_PATH, filter);
  const batches = usePaged<RedeemBatch>(['admin', 'redeem', 'batches'], REDEEM_BATCHES_PATH, {}, 5);
  const refresh = () => void queryClient.invalidateQueries({ queryKey: ['admin', 'redeem'] });
  const onError = (error: Error) => void message.error(error.message);
  const disabled = (result: { disabled: number }) => {
    void message.success(t('acCodesDisabled', { n: result.disabled }));
    refresh();
  };
  const disableCode = useMutation({ mutationFn: redeemApi.disableCode, onSuccess: disabled, onError });
  const disableBatch = useMutation({ mutationFn: redeemApi.disableBatch, onSuccess: disabled, onError });
  const filterBy = (next: CodeFilter) => {
    setFilter(next);
    codes.firstPage();
  };

  const exportCsv = async () => {
    setExporting(true);
    try {
      const csv = await redeemApi.exportCsv(filter);
      download(`redeem-codes${filter.batchId ? `-${filter.batchId}` : ''}.csv`, csv);
    } catch (error) {
      onError(error as Error);
    } finally {
      setExporting(false);
    }
  };

  return (
    <>
      <PageTitle>{t('navRedeem')}</PageTitle>
      <Card title={<h2 className="card-title">{t('acNewBatch')}</h2>} style={{ marginBottom: 16 }}>
        <BatchForm
          onCreated={(batchId, count) => {
            void message.success(t('acBatchCreated', { n: count }));
            filterBy({ batchId });
            refresh();
          }}
        />
      </Card>
      <Typography.Title level={2} style={{ fontSize: 18 }}>
        {t('acBatches')}
      </Typography.Title>
      <PagedTable<RedeemBatch>
        label={t('acBatches')}
        list={batches}
        rowKey="batchId"
        columns={[
          {
            title: t('acBatch'),
            dataIndex: 'batchId',
            render: (batchId: string) => (
              <Button type="link" size="small" onClick={() => filterBy({ ...filter, batchId })}>
                {t('acShowBatch', { id: batchId.slice(-6) })}
              </Button>
            ),
          },
          { title: t('acBatchCodes'), dataIndex: 'codes', align: 'right', render: number },
          {
            title: t('acUses'),
            align: 'right',
            render: (_, b) => `${number(b.uses)} / ${number(b.maxUses)}`,
          },
          { title: t('acCreditsEach'), dataIndex: 'credits', align: 'right', render: number, responsive: ['md'] },
          { title: t('acNote'), dataIndex: 'note', render: (v: string | null) => v ?? '—', responsive: ['md'] },
          { title: t('createdAt'), dataIndex: 'createdAt', render: (v: string) => dateTime(v), responsive: ['lg'] },
        ]}
      />
      <Typography.Title level={2} style={{ fontSize: 18 }}>
        {t('acCodes')}
      </Typography.Title>
      <Space wrap style={{ marginBottom: 12 }}>
        <Input.Search
          aria-label={t('acBatchId')}
          placeholder={t('acBatchId')}
          allowClear
          value={filter.batchId ?? ''}
          onChange={(e) => setFilter((f) => ({ ...f, batchId: e.target.value || undefined }))}
          onSearch={(value) => filterBy({ ...filter, batchId: value.trim() || undefined })}
          style={{ width: 300 }}
        />
        <Select<RedeemState | 'all'>
          aria-label={t('status')}
          value={filter.state ?? 'all'}
          style={{ width: 140 }}
          onChange={(state) => filterBy({ ...filter, state: state === 'all' ? undefined : state })}
          options={[
            { value: 'all', label: t('all') },
            ...STATES.map((state) => ({ value: state, label: t(`acState_${state}`) })),
          ]}
        />
        <Button onClick={() => void exportCsv()} loading={exporting}>
          {t('exportCsv')}
        </Button>
        {filter.batchId && (
          <Popconfirm
            title={t('acDisableBatchConfirm')}
            okText={t('acDisableBatch')}
            cancelText={t('cancel')}
            onConfirm={() => disableBatch.mutate(filter.batchId!)}
          >
            <Button danger loading={disableBatch.isPending}>
              {t('acDisableBatch')}
            </Button>
          </Popconfirm>
        )}
      </Space>
      <PagedTable<RedeemCode>
        label={t('acCodes')}
        list={codes}
        sizeChanger
        columns={[
          {
            title: t('redeemCode'),
            dataIndex: 'code',
            render: (code: string) => (
              <Typography.Text code copyable>
                {code}
              </Typography.Text>
            ),
          },
          { title: t('acCreditsEach'), dataIndex: 'credits', align: 'right', render: number, responsive: ['sm'] },
          {
            title: t('acUses'),
            align: 'right',
            responsive: ['md'],
            render: (_, c) => `${number(c.usedCount)} / ${number(c.maxUses)}`,
          },
          {
            title: t('status'),
            dataIndex: 'state',
            render: (state: RedeemState) => <Badge status={STATE_BADGE[state]} text={t(`acState_${state}`)} />,
          },
          {
            title: t('expiresAt'),
            dataIndex: 'expiresAt',
            responsive: ['md'],
            render: (v: string | null) => (v ? dateTime(v) : t('never')),
          },
          {
            title: t('acLastUsed'),
            dataIndex: 'lastUsed',
            responsive: ['md'],
            render: (used: RedeemCode['lastUsed']) =>
              used ? `${used.email ?? used.userId} · ${dateTime(used.at)}` : '—',
          },
          { title: t('acNote'), dataIndex: 'note', render: (v: string | null) => v ?? '—', responsive: ['md'] },
          {
            title: t('acBatch'),
            dataIndex: 'batchId',
            responsive: ['md'],
            render: (batchId: string) => (
              <Button type="link" size="small" onClick={() => filterBy({ ...filter, batchId })}>
                {t('acShowBatch', { id: batchId.slice(-6) })}
              </Button>
            ),
          },
          { title: t('createdAt'), dataIndex: 'createdAt', render: (v: string) => dateTime(v), responsive: ['lg'] },
          {
            title: t('actions'),
            render: (_, c) =>
              c.state === 'active' && (
                <Popconfirm
                  title={t('acDisableCodeConfirm')}
                  okText={t('disable')}
                  cancelText={t('cancel')}
                  onConfirm={() => disableCode.mutate(c.id)}
                >
                  <Button danger size="small" aria-label={`${t('disable')}: ${c.code}`}>
                    {t('disable')}
                  </Button>
                </Popconfirm>
              ),
          },
        ]}
      />
    </>
  );
}

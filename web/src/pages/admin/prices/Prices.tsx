import { PlusOutlined } from '@ant-design/icons';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Alert, App, Button, Popconfirm, Space, Tag, Typography } from 'antd';
import type { ColumnsType } from 'antd/es/table';
import { useState } from 'react';
import { isImageJobPrice, pricesApi, type PriceEntry } from '@/api/admin-catalog.ts';
import { ScrollTable } from '@/components/ScrollTable.tsx';
import { useI18n } from '@/i18n/index.tsx';
import { PageTitle } from '@/pages/PageTitle.tsx';
import { PriceModal } from './PriceModal.tsx';

/** Credits exactly as the API gives them (no rounding: a price may have six decimals). */
const exact = (credits: number) => String(credits);

/** Admin: what each model costs, and image jobs by mode and resolution in a group of their own. */
export function PricesPage() {
  const { t } = useI18n();
  const { message } = App.useApp();
  const queryClient = useQueryClient();
  const [editing, setEditing] = useState<PriceEntry | 'new' | 'new-image'>();
  const prices = useQuery({ queryKey: ['admin', 'prices'], queryFn: pricesApi.list });
  const refresh = () => void queryClient.invalidateQueries({ queryKey: ['admin', 'prices'] });
  const remove = useMutation({
    mutationFn: pricesApi.remove,
    onSuccess: refresh,
    onError: (error) => void message.error(error.message),
  });
  const items = prices.data?.items ?? [];
  const models = items.filter((p) => !isImageJobPrice(p.model));
  const imageJobs = items.filter((p) => isImageJobPrice(p.model));

  const modelColumn: ColumnsType<PriceEntry>[number] = {
    title: t('model'),
    render: (_, p) => (
      <Space size={4} wrap>
        <Typography.Text code>{p.model}</Typography.Text>
        {p.model === '*' && <Tag>{t('acDefaultPrice')}</Tag>}
        {p.source === 'default' && <Tag>{t('acShipped')}</Tag>}
      </Space>
    ),
  };
  const actions: ColumnsType<PriceEntry>[number] = {
    title: t('actions'),
    render: (_, p) => (
      <Space>
        <Button size="small" aria-label={`${t('acEdit')}: ${p.model}`} onClick={() => setEditing(p)}>
          {t('acEdit')}
        </Button>
        {p.source === 'admin' && (
          <Popconfirm
            title={t('acDeletePriceConfirm')}
            okText={t('delete')}
            cancelText={t('cancel')}
            onConfirm={() => remove.mutate(p.model)}
          >
            <Button danger size="small" aria-label={`${t('delete')}: ${p.model}`}>
              {t('delete')}
            </Button>
          </Popconfirm>
        )}
      </Space>
    ),
  };

  return (
    <>
      <PageTitle
        extra={
          <Button type="primary" icon={<PlusOutlined />} onClick={() => setEditing('new')}>
            {t('acNewPrice')}
          </Button>
        }
      >
        {t('navPrices')}
      </PageTitle>
      <Typography.Paragraph type="secondary">{t('acPricesHint')}</Typography.Paragraph>
      <ScrollTable<PriceEntry>
        label={t('acModelPrices')}
        rowKey="model"
        loading={prices.isPending}
        dataSource={models}
        pagination={false}
        minWidth={900}
        columns={[
          modelColumn,
          { title: t('acInputPer1k'), dataIndex: 'input', align: 'right', render: exact },
          { title: t('acOutputPer1k'), dataIndex: 'output', align: 'right', render: exact },
          { title: t('acPerRequest'), dataIndex: 'perRequest', align: 'right', render: exact },
          { title: t('acPerImage'), dataIndex: 'perImage', align: 'right', render: exact },
          {
            title: t('acMaxOutputTokens'),
            dataIndex: 'maxOutputTokens',
            align: 'right',
            render: (v: number | null) => (v === null ? '—' : String(v)),
          },
          actions,
        ]}
      />
      <Space style={{ justifyContent: 'space-between', width: '100%', margin: '24px 0 8px' }} wrap>
        <Typography.Title level={2} style={{ fontSize: 18, margin: 0 }}>
          {t('acImageJobPrices')}
        </Typography.Title>
        <Button icon={<PlusOutlined />} onClick={() => setEditing('new-image')}>
          {t('acNewImagePrice')}
        </Button>
      </Space>
      <Alert type="info" showIcon style={{ marginBottom: 12 }} title={t('acImageJobHint')} />
      <ScrollTable<PriceEntry>
        label={t('acImageJobPrices')}
        rowKey="model"
        loading={prices.isPending}
        dataSource={imageJobs}
        pagination={false}
        minWidth={600}
        columns={[
          modelColumn,
          { title: t('acPerImage'), dataIndex: 'perImage', align: 'right', render: exact },
          { title: t('acPerRequest'), dataIndex: 'perRequest', align: 'right', render: exact },
          actions,
        ]}
      />
      <PriceModal
        price={editing}
        onClose={() => setEditing(undefined)}
        onSaved={() => {
          setEditing(undefined);
          refresh();
        }}
      />
    </>
  );
}

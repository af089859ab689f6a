import { PlusOutlined } from '@ant-design/icons';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { App, Button, Popconfirm, Space, Switch, Tag, Typography } from 'antd';
import { useState } from 'react';
import { api } from '@/api/client.ts';
import type { ApiKey } from '@/api/types.ts';
import { dateTime, number } from '@/format.ts';
import { useI18n } from '@/i18n/index.tsx';
import { ScrollTable } from '@/components/ScrollTable.tsx';
import { PageTitle } from '@/pages/PageTitle.tsx';
import { CreateKeyModal } from './CreateKeyModal.tsx';
import { SecretModal } from './SecretModal.tsx';

export function KeysPage() {
  const { t } = useI18n();
  const { message } = App.useApp();
  const queryClient = useQueryClient();
  const [creating, setCreating] = useState(false);
  const [secret, setSecret] = useState<string>();
  const keys = useQuery({ queryKey: ['keys'], queryFn: () => api<{ items: ApiKey[] }>('/api/keys') });
  const refresh = () => void queryClient.invalidateQueries({ queryKey: ['keys'] });
  const update = useMutation({
    mutationFn: ({ id, enabled }: { id: string; enabled: boolean }) =>
      api(`/api/keys/${encodeURIComponent(id)}`, { method: 'PATCH', body: { enabled } }),
    onSuccess: refresh,
    onError: (error) => void message.error(error.message),
  });
  const remove = useMutation({
    mutationFn: (id: string) => api(`/api/keys/${encodeURIComponent(id)}`, { method: 'DELETE' }),
    onSuccess: refresh,
    onError: (error) => void message.error(error.message),
  });

  return (
    <>
      <PageTitle
        extra={
          <Button type="primary" icon={<PlusOutlined />} onClick={() => setCreating(true)}>
            {t('newKey')}
          </Button>
        }
      >
        {t('keys')}
      </PageTitle>
      <ScrollTable<ApiKey>
        label={t('keys')}
        rowKey="id"
        loading={keys.isPending}
        dataSource={keys.data?.items}
        pagination={false}
        minWidth={900}
        columns={[
          { title: t('name'), dataIndex: 'name' },
          {
            title: t('preview'),
            dataIndex: 'preview',
            render: (v: string) => <Typography.Text code>{v}</Typography.Text>,
          },
          {
            title: t('status'),
            render: (_, key) => (
              <Switch
                checked={key.enabled}
                aria-label={`${key.name}: ${key.enabled ? t('disable') : t('enable')}`}
                checkedChildren={t('enabled')}
                unCheckedChildren={t('disabled')}
                loading={update.isPending && update.variables.id === key.id}
                onChange={(enabled) => update.mutate({ id: key.id, enabled })}
              />
            ),
          },
          {
            title: t('expiresAt'),
            dataIndex: 'expiresAt',
            render: (v: string | null) => (v ? dateTime(v) : t('never')),
          },
          {
            title: t('creditsUsed'),
            render: (_, key) =>
              `${number(key.creditsUsed)} / ${key.creditCap === null ? t('unlimited') : number(key.creditCap)}`,
          },
          {
            title: t('allowedModels'),
            dataIndex: 'allowedModels',
            render: (v: string[] | null) => (v ? v.map((m) => <Tag key={m}>{m}</Tag>) : t('allModels')),
          },
          { title: t('lastUsed'), dataIndex: 'lastUsedAt', render: (v: string | null) => dateTime(v) },
          {
            title: t('actions'),
            render: (_, key) => (
              <Space>
                <Popconfirm
                  title={t('deleteKeyConfirm')}
                  okText={t('delete')}
                  cancelText={t('cancel')}
                  onConfirm={() => remove.mutate(key.id)}
                >
                  <Button danger size="small">
                    {t('delete')}
                  </Button>
                </Popconfirm>
              </Space>
            ),
          },
        ]}
      />
      <CreateKeyModal
        open={creating}
        onClose={() => setCreating(false)}
        onCreated={(created) => {
          setCreating(false);
          setSecret(created);
          refresh();
        }}
      />
      <SecretModal secret={secret} onClose={() => setSecret(undefined)} />
    </>
  );
}

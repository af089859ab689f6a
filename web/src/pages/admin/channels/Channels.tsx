import { PlusOutlined } from '@ant-design/icons';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { App, Button, Popconfirm, Space, Switch, Tag, Typography } from 'antd';
import { useState } from 'react';
import { channelsApi, type Channel, type ChannelTest } from '@/api/admin-catalog.ts';
import { ScrollTable } from '@/components/ScrollTable.tsx';
import { useI18n } from '@/i18n/index.tsx';
import { PageTitle } from '@/pages/PageTitle.tsx';
import { ChannelModal } from './ChannelModal.tsx';
import { ChannelHealth, TestOutcome } from './ChannelHealth.tsx';

/** Admin: the upstreams calls are routed to (OpenAI-compatible APIs and Dify apps). */
export function ChannelsPage() {
  const { t } = useI18n();
  const { message } = App.useApp();
  const queryClient = useQueryClient();
  const [editing, setEditing] = useState<Channel | 'new'>();
  const [tests, setTests] = useState<Record<string, ChannelTest>>({});
  const channels = useQuery({ queryKey: ['admin', 'channels'], queryFn: channelsApi.list });
  const refresh = () => void queryClient.invalidateQueries({ queryKey: ['admin', 'channels'] });
  const onError = (error: Error) => void message.error(error.message);
  const toggle = useMutation({
    mutationFn: ({ id, enabled }: { id: string; enabled: boolean }) => channelsApi.update(id, { enabled }),
    onSuccess: refresh,
    onError,
  });
  const remove = useMutation({ mutationFn: channelsApi.remove, onSuccess: refresh, onError });
  const test = useMutation({
    mutationFn: channelsApi.test,
    onSuccess: (result, id) => {
      setTests((all) => ({ ...all, [id]: result }));
      refresh();
    },
    onError,
  });

  return (
    <>
      <PageTitle
        extra={
          <Button type="primary" icon={<PlusOutlined />} onClick={() => setEditing('new')}>
            {t('acNewChannel')}
          </Button>
        }
      >
        {t('navChannels')}
      </PageTitle>
      <ScrollTable<Channel>
        label={t('navChannels')}
        rowKey="id"
        loading={channels.isPending}
        dataSource={channels.data?.items}
        pagination={false}
        minWidth={1200}
        columns={[
          {
            title: t('name'),
            render: (_, c) => (
              <Space direction="vertical" size={0}>
                <Typography.Text strong>{c.name}</Typography.Text>
                <Typography.Text type="secondary">{c.baseUrl}</Typography.Text>
                <Typography.Text code>{c.apiKeyPreview}</Typography.Text>
              </Space>
            ),
          },
          {
            title: t('acKind'),
            render: (_, c) =>
              c.kind === 'dify' ? (
                <Tag>
                  {t('acKindDify')} · {c.appMode}
                </Tag>
              ) : (
                <Tag>{t('acKindOpenai')}</Tag>
              ),
          },
          {
            title: t('acModels'),
            dataIndex: 'models',
            render: (models: string[]) =>
              models.length ? models.map((m) => <Tag key={m}>{m === '*' ? t('allModels') : m}</Tag>) : '—',
          },
          { title: t('acWeight'), dataIndex: 'weight', align: 'right' },
          { title: t('acPriority'), dataIndex: 'priority', align: 'right' },
          { title: t('acHealth'), render: (_, c) => <ChannelHealth channel={c} /> },
          {
            title: t('status'),
            render: (_, c) => (
              <Switch
                checked={c.enabled}
                aria-label={`${c.name}: ${c.enabled ? t('disable') : t('enable')}`}
                checkedChildren={t('enabled')}
                unCheckedChildren={t('disabled')}
                loading={toggle.isPending && toggle.variables.id === c.id}
                onChange={(enabled) => toggle.mutate({ id: c.id, enabled })}
              />
            ),
          },
          {
            title: t('acTest'),
            render: (_, c) => (
              <Space direction="vertical" size={4}>
                <Button
                  size="small"
                  aria-label={`${t('acTest')}: ${c.name}`}
                  loading={test.isPending && test.variables === c.id}
                  onClick={() => test.mutate(c.id)}
                >
                  {t('acTest')}
                </Button>
                {tests[c.id] && <TestOutcome result={tests[c.id]!} />}
              </Space>
            ),
          },
          {
            title: t('actions'),
            render: (_, c) => (
              <Space>
                <Button size="small" aria-label={`${t('acEdit')}: ${c.name}`} onClick={() => setEditing(c)}>
                  {t('acEdit')}
                </Button>
                <Popconfirm
                  title={t('acDeleteChannelConfirm')}
                  okText={t('delete')}
                  cancelText={t('cancel')}
                  onConfirm={() => remove.mutate(c.id)}
                >
                  <Button danger size="small" aria-label={`${t('delete')}: ${c.name}`}>
                    {t('delete')}
                  </Button>
                </Popconfirm>
              </Space>
            ),
          },
        ]}
      />
      <ChannelModal
        channel={editing}
        onClose={() => setEditing(undefined)}
        onSaved={() => {
          setEditing(undefined);
          refresh();
        }}
      />
    </>
  );
}

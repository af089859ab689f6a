import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { App, Button, Card, Descriptions, Popconfirm, Tag } from 'antd';
import { useNavigate } from 'react-router-dom';
import { api } from '@/api/client.ts';
import { useProfile } from '@/api/session.ts';
import type { SessionView } from '@/api/types.ts';
import { dateTime } from '@/format.ts';
import { useI18n } from '@/i18n/index.tsx';
import { ScrollTable } from '@/components/ScrollTable.tsx';
import { PageTitle } from '@/pages/PageTitle.tsx';

export function AccountPage() {
  const { t } = useI18n();
  const { message } = App.useApp();
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const profile = useProfile();
  const sessions = useQuery({
    queryKey: ['sessions'],
    queryFn: () => api<{ items: SessionView[] }>('/api/auth/sessions'),
  });
  const end = useMutation({
    mutationFn: (session: SessionView) =>
      api(`/api/auth/sessions/${encodeURIComponent(session.id)}`, { method: 'DELETE' }),
    onSuccess: async (_, session) => {
      if (session.current) {
        queryClient.clear();
        await navigate('/dashboard/login');
        return;
      }
      await queryClient.invalidateQueries({ queryKey: ['sessions'] });
    },
    onError: (error) => void message.error(error.message),
  });

  return (
    <>
      <PageTitle>{t('account')}</PageTitle>
      <Card
        title={<h2 className="card-title">{t('profile')}</h2>}
        style={{ marginBottom: 16 }}
        loading={profile.isPending}
      >
        <Descriptions column={1}>
          <Descriptions.Item label={t('email')}>{profile.data?.email ?? '—'}</Descriptions.Item>
          <Descriptions.Item label={t('name')}>{profile.data?.username}</Descriptions.Item>
          <Descriptions.Item label={t('role')}>{profile.data?.role}</Descriptions.Item>
          <Descriptions.Item label={t('createdAt')}>{dateTime(profile.data?.createdAt)}</Descriptions.Item>
        </Descriptions>
      </Card>
      <Card title={<h2 className="card-title">{t('sessions')}</h2>}>
        <ScrollTable<SessionView>
          label={t('sessions')}
          rowKey="id"
          loading={sessions.isPending}
          dataSource={sessions.data?.items}
          pagination={false}
          minWidth={700}
          columns={[
            {
              title: t('signedInAt'),
              dataIndex: 'createdAt',
              render: (v: string, s) => (
                <>
                  {dateTime(v)} {s.current && <Tag color="blue">{t('thisSession')}</Tag>}
                </>
              ),
            },
            { title: t('device'), dataIndex: 'userAgent', ellipsis: true, render: (v: string | null) => v ?? '—' },
            { title: t('ip'), dataIndex: 'ip', render: (v: string | null) => v ?? '—' },
            {
              title: t('actions'),
              render: (_, s) => (
                <Popconfirm
                  title={t('endSession')}
                  okText={t('confirm')}
                  cancelText={t('cancel')}
                  onConfirm={() => end.mutate(s)}
                >
                  <Button size="small" danger>
                    {t('endSession')}
                  </Button>
                </Popconfirm>
              ),
            },
          ]}
        />
      </Card>
    </>
  );
}

import { PlusOutlined } from '@ant-design/icons';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { App, Badge, Button, Popconfirm, Space, Tag, Typography } from 'antd';
import { useState } from 'react';
import { plansApi, type AdminPlan } from '@/api/admin-catalog.ts';
import { ScrollTable } from '@/components/ScrollTable.tsx';
import { money, number } from '@/format.ts';
import { useI18n } from '@/i18n/index.tsx';
import { PageTitle } from '@/pages/PageTitle.tsx';
import { PlanModal } from './PlanModal.tsx';

/** Admin: the plans users can hold; a plan is retired (no longer offered), never deleted. */
export function AdminPlansPage() {
  const { t } = useI18n();
  const { message } = App.useApp();
  const queryClient = useQueryClient();
  const [editing, setEditing] = useState<AdminPlan | 'new'>();
  const plans = useQuery({ queryKey: ['admin', 'plans'], queryFn: plansApi.list });
  const refresh = () => {
    void queryClient.invalidateQueries({ queryKey: ['admin', 'plans'] });
    void queryClient.invalidateQueries({ queryKey: ['plans'] });
  };
  const onError = (error: Error) => void message.error(error.message);
  const retire = useMutation({ mutationFn: plansApi.retire, onSuccess: refresh, onError });
  const reactivate = useMutation({
    mutationFn: (id: string) => plansApi.update(id, { status: 'active' }),
    onSuccess: refresh,
    onError,
  });

  return (
    <>
      <PageTitle
        extra={
          <Button type="primary" icon={<PlusOutlined />} onClick={() => setEditing('new')}>
            {t('acNewPlan')}
          </Button>
        }
      >
        {t('navAdminPlans')}
      </PageTitle>
      <ScrollTable<AdminPlan>
        label={t('navAdminPlans')}
        rowKey="id"
        loading={plans.isPending}
        dataSource={plans.data}
        pagination={false}
        minWidth={1000}
        columns={[
          {
            title: t('name'),
            render: (_, p) => (
              <Space direction="vertical" size={0}>
                <Typography.Text strong>{p.name}</Typography.Text>
                {p.nameEn && (
                  <Typography.Text type="secondary" lang="en">
                    EN · {p.nameEn}
                  </Typography.Text>
                )}
                <Typography.Text code>{p.code}</Typography.Text>
              </Space>
            ),
          },
          { title: t('acLevel'), dataIndex: 'level', align: 'right' },
          { title: t('acPrice'), align: 'right', render: (_, p) => money(p.price, p.currency) },
          {
            title: t('acDuration'),
            render: (_, p) => (p.lifetime ? t('lifetime') : t('perDays', { days: p.durationDays ?? 0 })),
          },
          {
            title: t('acEntitlements'),
            render: (_, p) => (
              <Space size={4} wrap style={{ maxWidth: 320 }}>
                {p.entitlements.creditsOnActivation > 0 && (
                  <Tag>
                    +{number(p.entitlements.creditsOnActivation)} {t('credits')}
                  </Tag>
                )}
                {p.entitlements.allowances.map((a) => (
                  <Tag key={`${a.metric}-${a.period}`}>
                    {t('allowanceOf', { metric: t(`metric_${a.metric}`), period: t(`period_${a.period}`) })}:{' '}
                    {number(a.limit)}
                  </Tag>
                ))}
                {p.entitlements.multiplierPermille !== 1000 && <Tag>×{p.entitlements.multiplierPermille / 1000}</Tag>}
              </Space>
            ),
          },
          { title: t('acSubscribers'), dataIndex: 'subscribers', align: 'right' },
          {
            title: t('status'),
            dataIndex: 'status',
            render: (status: AdminPlan['status']) => (
              <Badge
                status={status === 'active' ? 'success' : 'default'}
                text={status === 'active' ? t('acOffered') : t('acRetired')}
              />
            ),
          },
          {
            title: t('actions'),
            render: (_, p) => (
              <Space>
                <Button size="small" aria-label={`${t('acEdit')}: ${p.name}`} onClick={() => setEditing(p)}>
                  {t('acEdit')}
                </Button>
                {p.status === 'active' ? (
                  <Popconfirm
                    title={t('acRetireConfirm')}
                    okText={t('acRetire')}
                    cancelText={t('cancel')}
                    onConfirm={() => retire.mutate(p.id)}
                  >
                    <Button danger size="small" aria-label={`${t('acRetire')}: ${p.name}`}>
                      {t('acRetire')}
                    </Button>
                  </Popconfirm>
                ) : (
                  <Button
                    size="small"
                    aria-label={`${t('acOffer')}: ${p.name}`}
                    onClick={() => reactivate.mutate(p.id)}
                  >
                    {t('acOffer')}
                  </Button>
                )}
              </Space>
            ),
          },
        ]}
      />
      <PlanModal
        plan={editing}
        onClose={() => setEditing(undefined)}
        onSaved={() => {
          setEditing(undefined);
          refresh();
        }}
      />
    </>
  );
}

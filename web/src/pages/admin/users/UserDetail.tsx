import { ArrowLeftOutlined } from '@ant-design/icons';
import { useQuery } from '@tanstack/react-query';
import { Alert, Button, Card, Col, Descriptions, Row, Space, Statistic, Tabs } from 'antd';
import { Link, useNavigate, useParams } from 'react-router-dom';
import { type AdminUserDetail, userPath } from '@/api/admin-people.ts';
import { api } from '@/api/client.ts';
import { dateTime, number } from '@/format.ts';
import { useI18n } from '@/i18n/index.tsx';
import { PageTitle } from '@/pages/PageTitle.tsx';
import { RoleTag, StatusTag } from './tags.tsx';
import { UserActions } from './UserActions.tsx';
import { UserLedger } from './UserLedger.tsx';
import { UserPlanCard } from './UserPlanCard.tsx';
import { UserUsage } from './UserUsage.tsx';

export const userKey = (id: string) => ['admin', 'user', id] as const;

/** One account: profile, credits, plan, what an admin can do to it, its ledger and its calls. */
export function UserDetailPage() {
  const { t } = useI18n();
  const id = useParams().id ?? '';
  const user = useQuery({ queryKey: userKey(id), queryFn: () => api<AdminUserDetail>(userPath(id)) });
  const navigate = useNavigate();
  const back = (
    <Space wrap>
      <Link to={`/admin/audit?targetType=user&targetId=${encodeURIComponent(id)}`}>{t('apUserAudit')}</Link>
      <Button icon={<ArrowLeftOutlined />} onClick={() => void navigate('/admin/users')}>
        {t('apBackToUsers')}
      </Button>
    </Space>
  );

  if (user.error) {
    return (
      <>
        <PageTitle extra={back}>{t('apUser')}</PageTitle>
        <Alert type="error" showIcon message={user.error.message} />
      </>
    );
  }
  const u = user.data;
  return (
    <>
      <PageTitle extra={back}>{u ? (u.email ?? u.username) : t('apUser')}</PageTitle>
      <Row gutter={[16, 16]}>
        <Col xs={24} lg={12}>
          <Card title={<h2 className="card-title">{t('profile')}</h2>} loading={user.isPending}>
            {u && (
              <Descriptions column={1} size="small">
                <Descriptions.Item label="ID">{u.id}</Descriptions.Item>
                <Descriptions.Item label={t('email')}>{u.email ?? '—'}</Descriptions.Item>
                <Descriptions.Item label={t('apUsername')}>{u.username}</Descriptions.Item>
                <Descriptions.Item label={t('role')}>
                  <RoleTag role={u.role} />
                </Descriptions.Item>
                <Descriptions.Item label={t('status')}>
                  <Space>
                    <StatusTag status={u.status} />
                    {u.deletedAt && t('apDeletedAt', { date: dateTime(u.deletedAt) })}
                  </Space>
                </Descriptions.Item>
                <Descriptions.Item label={t('createdAt')}>{dateTime(u.createdAt)}</Descriptions.Item>
                <Descriptions.Item label={t('apSignIn')}>
                  {[u.hasPassword && t('password'), u.openid && 'WeChat'].filter(Boolean).join(', ') || '—'}
                </Descriptions.Item>
              </Descriptions>
            )}
          </Card>
        </Col>
        <Col xs={24} lg={12}>
          <Card title={<h2 className="card-title">{t('balance')}</h2>} loading={user.isPending}>
            <Space size="large" wrap>
              <Statistic title={t('balance')} value={number(u?.credits.balance ?? 0)} data-testid="user-balance" />
              <Statistic title={t('held')} value={number(u?.credits.held ?? 0)} />
              <Statistic title={t('available')} value={number(u?.credits.available ?? 0)} />
            </Space>
          </Card>
        </Col>
        <Col xs={24} lg={12}>
          <UserPlanCard userId={id} />
        </Col>
        <Col xs={24} lg={12}>
          {u && <UserActions user={u} />}
        </Col>
        <Col span={24}>
          <Card>
            <Tabs
              items={[
                { key: 'ledger', label: t('ledger'), children: <UserLedger userId={id} /> },
                { key: 'usage', label: t('usage'), children: <UserUsage userId={id} /> },
              ]}
            />
          </Card>
        </Col>
      </Row>
    </>
  );
}

import { useQuery } from '@tanstack/react-query';
import { Card, Col, Progress, Row, Space, Statistic, Typography } from 'antd';
import { api } from '@/api/client.ts';
import type { Balance, MyPlan } from '@/api/types.ts';
import { date, number } from '@/format.ts';
import { useI18n } from '@/i18n/index.tsx';
import { PageTitle } from '@/pages/PageTitle.tsx';
import { CheckinCard } from './CheckinCard.tsx';
import { UsageChart } from './UsageChart.tsx';

export function OverviewPage() {
  const { t } = useI18n();
  const balance = useQuery({ queryKey: ['balance'], queryFn: () => api<Balance>('/api/credits/balance') });
  const plan = useQuery({ queryKey: ['plan'], queryFn: () => api<MyPlan>('/api/plans/me') });

  return (
    <>
      <PageTitle>{t('navOverview')}</PageTitle>
      <Row gutter={[16, 16]}>
        <Col xs={24} lg={8}>
          <Card title={<h2 className="card-title">{t('balance')}</h2>} loading={balance.isPending}>
            <Statistic title={t('available')} value={balance.data?.available ?? 0} suffix={t('credits')} />
            <Space size="large" style={{ marginTop: 12 }}>
              <Statistic title={t('balance')} value={balance.data?.credits ?? 0} valueStyle={{ fontSize: 16 }} />
              <Statistic title={t('held')} value={balance.data?.held ?? 0} valueStyle={{ fontSize: 16 }} />
            </Space>
          </Card>
        </Col>
        <Col xs={24} lg={8}>
          <Card title={<h2 className="card-title">{t('plan')}</h2>} loading={plan.isPending} data-testid="plan-card">
            {plan.data?.plan ? (
              <Space direction="vertical" style={{ width: '100%' }}>
                <Typography.Text strong>{plan.data.plan.name}</Typography.Text>
                <Typography.Text type="secondary">
                  {plan.data.lifetime ? t('lifetime') : t('expires', { date: date(plan.data.expiresAt) })}
                </Typography.Text>
                {plan.data.allowances.map((a) => (
                  <div key={`${a.metric}-${a.period}`} data-testid="allowance">
                    <Typography.Text>
                      {t('allowanceOf', { metric: t(`metric_${a.metric}`), period: t(`period_${a.period}`) })}
                    </Typography.Text>
                    <Progress
                      percent={a.limit > 0 ? Math.round((a.used / a.limit) * 100) : 0}
                      aria-label={t('allowanceOf', {
                        metric: t(`metric_${a.metric}`),
                        period: t(`period_${a.period}`),
                      })}
                    />
                    <Typography.Text type="secondary">
                      {t('usedOf', { used: number(a.used), limit: number(a.limit), remaining: number(a.remaining) })}
                    </Typography.Text>
                  </div>
                ))}
              </Space>
            ) : (
              <Typography.Text type="secondary">{t('noPlan')}</Typography.Text>
            )}
          </Card>
        </Col>
        <Col xs={24} lg={8}>
          <CheckinCard />
        </Col>
        <Col span={24}>
          <UsageChart />
        </Col>
      </Row>
    </>
  );
}

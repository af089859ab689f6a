import { useQuery } from '@tanstack/react-query';
import { Card, Progress, Space, Typography } from 'antd';
import { type UserPlan, userPath } from '@/api/admin-people.ts';
import { api } from '@/api/client.ts';
import { date, number } from '@/format.ts';
import { useI18n } from '@/i18n/index.tsx';

export const userPlanKey = (id: string) => ['admin', 'user', id, 'plan'] as const;

/** The account's plan (its VIP level) and what its allowances have left. */
export function UserPlanCard({ userId }: { userId: string }) {
  const { t } = useI18n();
  const plan = useQuery({ queryKey: userPlanKey(userId), queryFn: () => api<UserPlan>(userPath(userId, '/plan')) });
  const p = plan.data;
  return (
    <Card title={<h2 className="card-title">{t('plan')}</h2>} loading={plan.isPending} data-testid="user-plan">
      {plan.error && <Typography.Text type="danger">{plan.error.message}</Typography.Text>}
      {p && !p.plan && <Typography.Text type="secondary">{t('apNoPlan')}</Typography.Text>}
      {p?.plan && (
        <Space direction="vertical" style={{ width: '100%' }}>
          <Typography.Text strong>
            {p.plan.name} · {t('apLevel', { level: p.plan.level })}
          </Typography.Text>
          <Typography.Text type="secondary">
            {p.lifetime ? t('lifetime') : t('expires', { date: date(p.expiresAt) })}
          </Typography.Text>
          {p.allowances.map((a) => {
            const label = t('allowanceOf', { metric: t(`metric_${a.metric}`), period: t(`period_${a.period}`) });
            return (
              <div key={`${a.metric}-${a.period}`}>
                <Typography.Text>{label}</Typography.Text>
                <Progress percent={a.limit > 0 ? Math.round((a.used / a.limit) * 100) : 0} aria-label={label} />
                <Typography.Text type="secondary">
                  {t('usedOf', { used: number(a.used), limit: number(a.limit), remaining: number(a.remaining) })}
                </Typography.Text>
              </div>
            );
          })}
        </Space>
      )}
    </Card>
  );
}

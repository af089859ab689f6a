import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { App, Button, Card, Space, Typography } from 'antd';
import dayjs from 'dayjs';
import { useMemo } from 'react';
import { api } from '@/api/client.ts';
import type { CheckinItem, CheckinStatus, Paged } from '@/api/types.ts';
import { CheckinCalendar } from '@/components/CheckinCalendar.tsx';
import { useI18n } from '@/i18n/index.tsx';

export function CheckinCard() {
  const { t } = useI18n();
  const { message } = App.useApp();
  const queryClient = useQueryClient();
  const status = useQuery({
    queryKey: ['checkin', 'status'],
    queryFn: () => api<CheckinStatus>('/api/checkin/status'),
  });
  const history = useQuery({
    queryKey: ['checkin', 'history'],
    queryFn: () => api<Paged<CheckinItem>>('/api/checkin/history', { query: { limit: 100 } }),
  });
  const checkIn = useMutation({
    mutationFn: () => api<{ message: string }>('/api/checkin', { method: 'POST' }),
    onSuccess: (result) => {
      void message.success(result.message);
      void queryClient.invalidateQueries({ queryKey: ['checkin'] });
      void queryClient.invalidateQueries({ queryKey: ['balance'] });
    },
    onError: (error) => void message.error(error.message),
  });
  const checked = useMemo(() => new Set(history.data?.items.map((i) => i.checkinDate) ?? []), [history.data]);
  // The server's day (CHECKIN_TZ): today is the last check-in when done today, else the local date.
  const today =
    status.data?.hasCheckedIn && status.data.lastCheckinDate
      ? status.data.lastCheckinDate
      : dayjs().format('YYYY-MM-DD');

  return (
    <Card title={<h2 className="card-title">{t('checkin')}</h2>} loading={status.isPending}>
      <Space direction="vertical" style={{ width: '100%' }}>
        <Space wrap>
          <Button
            type="primary"
            disabled={status.data?.hasCheckedIn}
            loading={checkIn.isPending}
            onClick={() => checkIn.mutate()}
          >
            {status.data?.hasCheckedIn ? t('checkedInToday') : t('checkinNow')}
          </Button>
          <Typography.Text data-testid="streak">
            {t('streak', { days: status.data?.consecutiveDays ?? 0 })}
          </Typography.Text>
        </Space>
        {!history.isPending && <CheckinCalendar checkedDates={checked} today={today} />}
      </Space>
    </Card>
  );
}

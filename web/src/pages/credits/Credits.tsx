import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { App, Button, Card, Col, Form, Input, Row, Statistic, Typography } from 'antd';
import { api } from '@/api/client.ts';
import { usePaged } from '@/api/paged.ts';
import type { Balance, LedgerItem } from '@/api/types.ts';
import { dateTime, number } from '@/format.ts';
import { useI18n } from '@/i18n/index.tsx';
import { PagedTable } from '@/components/PagedTable.tsx';
import { PageTitle } from '@/pages/PageTitle.tsx';

export function CreditsPage() {
  const { t } = useI18n();
  const { message } = App.useApp();
  const queryClient = useQueryClient();
  const [form] = Form.useForm<{ code: string }>();
  const balance = useQuery({ queryKey: ['balance'], queryFn: () => api<Balance>('/api/credits/balance') });
  const ledger = usePaged<LedgerItem>(['ledger'], '/api/credits/history');
  const redeem = useMutation({
    mutationFn: (code: string) => api<{ message: string }>('/api/credits/redeem', { method: 'POST', body: { code } }),
    onSuccess: (result) => {
      void message.success(result.message);
      form.resetFields();
      for (const key of ['balance', 'ledger', 'plan']) void queryClient.invalidateQueries({ queryKey: [key] });
    },
    onError: (error) => void message.error(error.message),
  });

  return (
    <>
      <PageTitle>{t('navCredits')}</PageTitle>
      <Row gutter={[16, 16]} style={{ marginBottom: 16 }}>
        <Col xs={24} md={12}>
          <Card loading={balance.isPending}>
            <Statistic title={t('available')} value={balance.data?.available ?? 0} suffix={t('credits')} />
            <Typography.Text type="secondary">
              {t('balance')} {number(balance.data?.credits ?? 0)} · {t('held')} {number(balance.data?.held ?? 0)}
            </Typography.Text>
          </Card>
        </Col>
        <Col xs={24} md={12}>
          <Card title={<h2 className="card-title">{t('redeem')}</h2>}>
            <Form form={form} layout="inline" onFinish={({ code }) => redeem.mutate(code.trim())} style={{ rowGap: 8 }}>
              <Form.Item
                name="code"
                label={t('redeemCode')}
                rules={[{ required: true, whitespace: true, message: t('required') }]}
              >
                <Input autoComplete="off" style={{ width: 220 }} />
              </Form.Item>
              <Button type="primary" htmlType="submit" loading={redeem.isPending}>
                {t('redeemNow')}
              </Button>
            </Form>
          </Card>
        </Col>
      </Row>
      <Typography.Title level={2} style={{ fontSize: 18 }}>
        {t('ledger')}
      </Typography.Title>
      <PagedTable<LedgerItem>
        label={t('ledger')}
        list={ledger}
        columns={[
          { title: t('time'), dataIndex: 'createdAt', render: (v: string) => dateTime(v) },
          {
            title: t('amount'),
            dataIndex: 'amount',
            align: 'right',
            render: (v: number) => (
              <Typography.Text type={v < 0 ? 'danger' : 'success'}>
                {v > 0 ? `+${number(v)}` : number(v)}
              </Typography.Text>
            ),
          },
          { title: t('type'), dataIndex: 'type', responsive: ['md'] },
          { title: t('reason'), dataIndex: 'reason' },
          { title: t('balanceAfter'), dataIndex: 'balanceAfter', align: 'right', render: number, responsive: ['md'] },
        ]}
      />
    </>
  );
}

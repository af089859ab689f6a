import { useMutation, useQuery } from '@tanstack/react-query';
import { Form, InputNumber, Modal, Select } from 'antd';
import { type AdminPlan, userPath } from '@/api/admin-people.ts';
import { api } from '@/api/client.ts';
import { date } from '@/format.ts';
import { useI18n } from '@/i18n/index.tsx';
import { ModalError } from './ModalError.tsx';

interface Values {
  planId: string;
  days?: number | null;
}

interface SetPlanAnswer {
  creditsGranted: number;
  subscription: { planName: string; expiresAt: string | null };
}

/** Gives the account a plan (replacing its current one) for the plan's own term or for some days. */
export function SetPlanModal(props: {
  open: boolean;
  userId: string;
  onClose: () => void;
  onDone: (text: string) => void;
}) {
  const { t } = useI18n();
  const [form] = Form.useForm<Values>();
  const plans = useQuery({
    queryKey: ['admin', 'plans'],
    queryFn: () => api<AdminPlan[]>('/api/admin/plans'),
    enabled: props.open,
  });
  const setPlan = useMutation({
    mutationFn: (values: Values) =>
      api<SetPlanAnswer>(userPath(props.userId, '/plan'), {
        method: 'PUT',
        body: { planId: values.planId, ...(values.days ? { days: values.days } : {}) },
      }),
    onSuccess: ({ subscription }) => {
      form.resetFields();
      props.onDone(
        t('apPlanSet', {
          plan: subscription.planName,
          until: subscription.expiresAt ? date(subscription.expiresAt) : t('lifetime'),
        }),
      );
    },
  });
  return (
    <Modal
      open={props.open}
      title={t('apSetPlan')}
      okText={t('confirm')}
      cancelText={t('cancel')}
      confirmLoading={setPlan.isPending}
      onOk={() => form.submit()}
      onCancel={() => {
        setPlan.reset();
        props.onClose();
      }}
      destroyOnHidden
    >
      <ModalError error={setPlan.error ?? plans.error} />
      <Form<Values> form={form} layout="vertical" onFinish={(values) => setPlan.mutate(values)}>
        <Form.Item name="planId" label={t('plan')} rules={[{ required: true, message: t('required') }]}>
          <Select
            loading={plans.isPending}
            options={plans.data
              ?.filter((p) => p.status === 'active')
              .map((p) => ({
                value: p.id,
                label: `${p.name} · ${t('apLevel', { level: p.level })} · ${
                  p.lifetime ? t('lifetime') : t('perDays', { days: p.durationDays ?? 0 })
                }`,
              }))}
          />
        </Form.Item>
        <Form.Item name="days" label={t('apPlanDays')} extra={t('apPlanDaysHint')}>
          <InputNumber precision={0} min={1} max={36_500} style={{ width: '100%' }} />
        </Form.Item>
      </Form>
    </Modal>
  );
}

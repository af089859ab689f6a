import { useMutation } from '@tanstack/react-query';
import { Form, Input, InputNumber, Modal } from 'antd';
import { type Adjusted, userPath } from '@/api/admin-people.ts';
import { api } from '@/api/client.ts';
import { useI18n } from '@/i18n/index.tsx';
import { ModalError } from './ModalError.tsx';

interface Values {
  amount: number;
  reason: string;
}

/** Adds (positive) or takes (negative) credits, with a reason for the ledger; answers the new balance. */
export function AdjustCreditsModal(props: {
  open: boolean;
  userId: string;
  onClose: () => void;
  onDone: (balance: number) => void;
}) {
  const { t } = useI18n();
  const [form] = Form.useForm<Values>();
  const adjust = useMutation({
    mutationFn: (values: Values) =>
      api<Adjusted>(userPath(props.userId, '/credits'), {
        method: 'POST',
        body: { amount: values.amount, reason: values.reason.trim() },
      }),
    onSuccess: (result) => {
      form.resetFields();
      props.onDone(result.balance);
    },
  });
  return (
    <Modal
      open={props.open}
      title={t('apAdjustCredits')}
      okText={t('confirm')}
      cancelText={t('cancel')}
      confirmLoading={adjust.isPending}
      onOk={() => form.submit()}
      onCancel={() => {
        adjust.reset();
        props.onClose();
      }}
      destroyOnHidden
    >
      <ModalError error={adjust.error} />
      <Form<Values> form={form} layout="vertical" onFinish={(values) => adjust.mutate(values)}>
        <Form.Item
          name="amount"
          label={t('apAdjustAmount')}
          extra={t('apAdjustAmountHint')}
          rules={[
            { required: true, message: t('required') },
            {
              validator: (_, value: number | null) =>
                value === 0 ? Promise.reject(new Error(t('apNotZero'))) : Promise.resolve(),
            },
          ]}
        >
          <InputNumber precision={0} min={-1_000_000_000} max={1_000_000_000} style={{ width: '100%' }} />
        </Form.Item>
        <Form.Item
          name="reason"
          label={t('reason')}
          rules={[{ required: true, whitespace: true, message: t('required') }]}
        >
          <Input maxLength={255} />
        </Form.Item>
      </Form>
    </Modal>
  );
}

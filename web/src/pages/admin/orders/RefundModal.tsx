import { useMutation } from '@tanstack/react-query';
import { Form, Input, InputNumber, Modal, Radio } from 'antd';
import { type AdminOrderDetail, orderPath } from '@/api/admin-people.ts';
import { api } from '@/api/client.ts';
import { money } from '@/format.ts';
import { useI18n } from '@/i18n/index.tsx';
import { ModalError } from '@/pages/admin/users/ModalError.tsx';

interface Values {
  whole: boolean;
  /** In major units (yuan, dollars), two decimals: sent as minor units. */
  amount?: number;
  reason: string;
}

/** Refunds the rest of an order, or a part of it, with a reason (kept in the audit log). */
export function RefundModal(props: {
  open: boolean;
  order: AdminOrderDetail;
  /** Minor units still refundable. */
  left: number;
  onClose: () => void;
  onDone: (after: AdminOrderDetail) => void;
}) {
  const { t } = useI18n();
  const [form] = Form.useForm<Values>();
  const whole = Form.useWatch('whole', form) ?? true;
  const { currency } = props.order;
  const refund = useMutation({
    mutationFn: (values: Values) =>
      api<AdminOrderDetail>(orderPath(props.order.id, '/refund'), {
        method: 'POST',
        body: {
          reason: values.reason.trim(),
          ...(values.whole ? {} : { amount: Math.round((values.amount ?? 0) * 100) }),
        },
      }),
    onSuccess: (after) => {
      form.resetFields();
      props.onDone(after);
    },
  });
  return (
    <Modal
      open={props.open}
      title={t('apRefund')}
      okText={t('apRefund')}
      cancelText={t('cancel')}
      okButtonProps={{ danger: true }}
      confirmLoading={refund.isPending}
      onOk={() => form.submit()}
      onCancel={() => {
        refund.reset();
        props.onClose();
      }}
      destroyOnHidden
    >
      <ModalError error={refund.error} />
      <Form<Values>
        form={form}
        layout="vertical"
        initialValues={{ whole: true }}
        onFinish={(values) => refund.mutate(values)}
      >
        <Form.Item name="whole" label={t('apRefundWhat')}>
          <Radio.Group
            options={[
              { value: true, label: t('apRefundAll', { amount: money(props.left, currency) }) },
              { value: false, label: t('apRefundPart') },
            ]}
          />
        </Form.Item>
        {!whole && (
          <Form.Item
            name="amount"
            label={t('apRefundAmount', { currency })}
            rules={[
              { required: true, message: t('required') },
              {
                validator: (_, value: number | null) =>
                  value !== null && value !== undefined && Math.round(value * 100) > props.left
                    ? Promise.reject(new Error(t('apRefundTooMuch', { amount: money(props.left, currency) })))
                    : Promise.resolve(),
              },
            ]}
          >
            <InputNumber min={0.01} precision={2} step={0.01} style={{ width: '100%' }} />
          </Form.Item>
        )}
        <Form.Item
          name="reason"
          label={t('reason')}
          rules={[{ required: true, whitespace: true, message: t('required') }]}
        >
          <Input maxLength={500} />
        </Form.Item>
      </Form>
    </Modal>
  );
}

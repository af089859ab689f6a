import { useQuery } from '@tanstack/react-query';
import { App, Button, DatePicker, Form, Input, InputNumber, Select, Space } from 'antd';
import type { Dayjs } from 'dayjs';
import { useState } from 'react';
import { plansApi, redeemApi, type BatchBody } from '@/api/admin-catalog.ts';
import { useI18n } from '@/i18n/index.tsx';

interface Fields {
  count: number;
  credits: number;
  maxUses?: number | null;
  expiresAt?: Dayjs | null;
  note?: string;
  planId?: string;
  planDays?: number | null;
}

/** What the batch form sends: empty fields left out (the API's defaults: one use, no expiry, no plan). */
export function batchBody(fields: Fields): BatchBody {
  return {
    count: fields.count,
    credits: fields.credits,
    ...(fields.maxUses ? { maxUses: fields.maxUses } : {}),
    ...(fields.expiresAt ? { expiresAt: fields.expiresAt.endOf('day').toISOString() } : {}),
    ...(fields.note?.trim() ? { note: fields.note.trim() } : {}),
    ...(fields.planId ? { planId: fields.planId } : {}),
    ...(fields.planId && fields.planDays ? { planDays: fields.planDays } : {}),
  };
}

export function BatchForm({ onCreated }: { onCreated: (batchId: string, count: number) => void }) {
  const { t } = useI18n();
  const { message } = App.useApp();
  const [form] = Form.useForm<Fields>();
  const [busy, setBusy] = useState(false);
  const plans = useQuery({ queryKey: ['admin', 'plans'], queryFn: plansApi.list });
  const planId = Form.useWatch('planId', form);

  const submit = async (fields: Fields) => {
    setBusy(true);
    try {
      const created = await redeemApi.create(batchBody(fields));
      form.resetFields();
      onCreated(created.batchId, created.codes.length);
    } catch (error) {
      void message.error((error as Error).message);
    } finally {
      setBusy(false);
    }
  };

  return (
    <Form
      form={form}
      layout="vertical"
      requiredMark={false}
      onFinish={(fields) => void submit(fields)}
      initialValues={{ count: 10, credits: 100 }}
    >
      <Space wrap align="start">
        <Form.Item name="count" label={t('acCount')} rules={[{ required: true, message: t('required') }]}>
          <InputNumber min={1} max={1000} precision={0} style={{ width: 120 }} />
        </Form.Item>
        <Form.Item name="credits" label={t('acCreditsEach')} rules={[{ required: true, message: t('required') }]}>
          <InputNumber min={0} max={1_000_000_000} precision={0} style={{ width: 150 }} />
        </Form.Item>
        <Form.Item name="maxUses" label={t('acMaxUses')} extra={t('acMaxUsesHint')}>
          <InputNumber min={1} max={1_000_000} precision={0} placeholder="1" style={{ width: 120 }} />
        </Form.Item>
        <Form.Item name="expiresAt" label={t('expiresAt')}>
          <DatePicker placeholder={t('never')} />
        </Form.Item>
        <Form.Item name="planId" label={t('acActivatesPlan')}>
          <Select
            allowClear
            placeholder={t('none')}
            style={{ width: 180 }}
            options={(plans.data ?? []).map((p) => ({ value: p.id, label: p.name }))}
          />
        </Form.Item>
        {planId && (
          <Form.Item name="planDays" label={t('acPlanDays')} extra={t('acPlanDaysHint')}>
            <InputNumber min={1} max={36_500} precision={0} style={{ width: 120 }} />
          </Form.Item>
        )}
        <Form.Item name="note" label={t('acNote')}>
          <Input maxLength={255} style={{ width: 220 }} />
        </Form.Item>
      </Space>
      <Button type="primary" htmlType="submit" loading={busy}>
        {t('acCreateBatch')}
      </Button>
    </Form>
  );
}

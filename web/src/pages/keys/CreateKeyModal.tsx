import { App, DatePicker, Form, Input, InputNumber, Modal, Select, Space } from 'antd';
import type { Dayjs } from 'dayjs';
import { useState } from 'react';
import { api } from '@/api/client.ts';
import type { ApiKey } from '@/api/types.ts';
import { useI18n } from '@/i18n/index.tsx';

interface Fields {
  name: string;
  expiresAt?: Dayjs | null;
  creditCap?: number | null;
  allowedModels?: string[];
  allowedIps?: string[];
  rpm?: number | null;
  tpm?: number | null;
  concurrency?: number | null;
  rpd?: number | null;
}

const LIMITS = ['rpm', 'tpm', 'concurrency', 'rpd'] as const;

/** Builds the create body: empty fields are left out (the key then has no such restriction). */
export function createKeyBody(fields: Fields): Record<string, unknown> {
  const rateLimits = Object.fromEntries(LIMITS.filter((l) => fields[l] != null).map((l) => [l, fields[l]]));
  return {
    name: fields.name.trim(),
    ...(fields.expiresAt ? { expiresAt: fields.expiresAt.endOf('day').toISOString() } : {}),
    ...(fields.creditCap ? { creditCap: fields.creditCap } : {}),
    ...(fields.allowedModels?.length ? { allowedModels: fields.allowedModels } : {}),
    ...(fields.allowedIps?.length ? { allowedIps: fields.allowedIps } : {}),
    ...(Object.keys(rateLimits).length ? { rateLimits } : {}),
  };
}

export function CreateKeyModal({
  open,
  onClose,
  onCreated,
}: {
  open: boolean;
  onClose: () => void;
  onCreated: (secret: string) => void;
}) {
  const { t } = useI18n();
  const { message } = App.useApp();
  const [form] = Form.useForm<Fields>();
  const [busy, setBusy] = useState(false);

  const submit = async () => {
    const fields = await form.validateFields();
    setBusy(true);
    try {
      const created = await api<{ key: string; apiKey: ApiKey }>('/api/keys', {
        method: 'POST',
        body: createKeyBody(fields),
      });
      form.resetFields();
      onCreated(created.key);
    } catch (error) {
      void message.error((error as Error).message);
    } finally {
      setBusy(false);
    }
  };

  return (
    <Modal
      open={open}
      title={t('newKey')}
      onCancel={onClose}
      onOk={() => void submit()}
      okText={t('save')}
      cancelText={t('cancel')}
      confirmLoading={busy}
      destroyOnHidden
    >
      <Form form={form} layout="vertical" requiredMark={false}>
        <Form.Item name="name" label={t('name')} rules={[{ required: true, whitespace: true, message: t('required') }]}>
          <Input maxLength={64} />
        </Form.Item>
        <Space wrap>
          <Form.Item name="expiresAt" label={t('expiresAt')}>
            <DatePicker placeholder={t('never')} />
          </Form.Item>
          <Form.Item name="creditCap" label={t('creditCap')}>
            <InputNumber min={1} precision={0} placeholder={t('unlimited')} style={{ width: 160 }} />
          </Form.Item>
        </Space>
        <Form.Item name="allowedModels" label={t('allowedModels')} extra={t('typeToAdd')}>
          <Select mode="tags" placeholder={t('allModels')} open={false} tokenSeparators={[',', ' ']} />
        </Form.Item>
        <Form.Item name="allowedIps" label={t('allowedIps')} extra={t('typeToAdd')}>
          <Select mode="tags" placeholder={t('anyIp')} open={false} tokenSeparators={[',', ' ']} />
        </Form.Item>
        <fieldset style={{ border: 0, padding: 0, margin: 0 }}>
          <legend style={{ fontSize: 14 }}>{t('limits')}</legend>
          <Space wrap>
            {LIMITS.map((limit) => (
              <Form.Item key={limit} name={limit} label={t(limit)}>
                <InputNumber min={1} precision={0} style={{ width: 140 }} />
              </Form.Item>
            ))}
          </Space>
        </fieldset>
      </Form>
    </Modal>
  );
}

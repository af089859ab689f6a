import { Form, Input, InputNumber, Modal, Space } from 'antd';
import { pricesApi, type PriceBody, type PriceEntry } from '@/api/admin-catalog.ts';
import { useFormModal } from '@/components/useFormModal.ts';
import { useI18n } from '@/i18n/index.tsx';

type Fields = { model: string } & { [K in keyof PriceBody]?: PriceBody[K] | null };
const RATES = ['input', 'output', 'perRequest', 'perImage'] as const;
const LABELS = {
  input: 'acInputPer1k',
  output: 'acOutputPer1k',
  perRequest: 'acPerRequest',
  perImage: 'acPerImage',
} as const;

/** Add a price (`new`, `new-image`: a name starting `image-job`) or change one; undefined: closed. */
export function PriceModal({
  price,
  onClose,
  onSaved,
}: {
  price: PriceEntry | 'new' | 'new-image' | undefined;
  onClose: () => void;
  onSaved: () => void;
}) {
  const { t } = useI18n();
  const current = typeof price === 'object' ? price : undefined;
  const { form, modalProps } = useFormModal<Fields>({
    open: price !== undefined,
    savedMessage: t('acSaved'),
    onSaved,
    save: (fields) =>
      pricesApi.set(fields.model.trim(), {
        input: fields.input ?? 0,
        output: fields.output ?? 0,
        perRequest: fields.perRequest ?? 0,
        perImage: fields.perImage ?? 0,
        maxOutputTokens: fields.maxOutputTokens ?? null,
      }),
  });

  return (
    <Modal {...modalProps} title={current ? `${t('acEdit')}: ${current.model}` : t('acNewPrice')} onCancel={onClose}>
      <Form
        key={current?.model ?? (price === 'new-image' ? 'new-image' : 'new')}
        form={form}
        layout="vertical"
        requiredMark={false}
        initialValues={current ?? { model: price === 'new-image' ? 'image-job:' : '' }}
      >
        <Form.Item
          name="model"
          label={t('model')}
          extra={price === 'new-image' ? t('acImageJobHint') : t('acModelNameHint')}
          rules={[
            { required: true, whitespace: true, message: t('required') },
            { pattern: /^[\w.:*@+/-]+$/, message: t('acBadModelName') },
          ]}
        >
          <Input maxLength={128} disabled={current !== undefined} />
        </Form.Item>
        <Space wrap>
          {RATES.map((rate) => (
            <Form.Item key={rate} name={rate} label={t(LABELS[rate])}>
              <InputNumber min={0} max={1_000_000} style={{ width: 160 }} placeholder="0" />
            </Form.Item>
          ))}
          <Form.Item name="maxOutputTokens" label={t('acMaxOutputTokens')} extra={t('acMaxOutputTokensHint')}>
            <InputNumber min={1} max={10_000_000} precision={0} style={{ width: 160 }} />
          </Form.Item>
        </Space>
      </Form>
    </Modal>
  );
}

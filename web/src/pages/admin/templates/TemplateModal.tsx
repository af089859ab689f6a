import { Form, Input, InputNumber, Modal, Select, Space, Switch } from 'antd';
import { templatesApi, type ParamTemplate, type PromptTemplate, type TemplateKind } from '@/api/admin-catalog.ts';
import { useFormModal } from '@/components/useFormModal.ts';
import { useI18n } from '@/i18n/index.tsx';
import { parseParams, templateBody, templateFields, type TemplateFields } from './template-form.ts';

/** Create (`template` = 'new') or change a template of `kind`; undefined: closed. */
export function TemplateModal({
  kind,
  template,
  onClose,
  onSaved,
}: {
  kind: TemplateKind;
  template: PromptTemplate | ParamTemplate | 'new' | undefined;
  onClose: () => void;
  onSaved: () => void;
}) {
  const { t } = useI18n();
  const current = template === 'new' ? undefined : template;
  const required = [{ required: true, whitespace: true, message: t('required') }];
  const { form, modalProps } = useFormModal<TemplateFields>({
    open: template !== undefined,
    savedMessage: t('acSaved'),
    onSaved,
    save: (fields) => {
      const body = templateBody(kind, fields);
      return current ? templatesApi.update(kind, current.id, body) : templatesApi.create(kind, body);
    },
  });

  const newTitle = kind === 'prompts' ? t('acNewPromptTemplate') : t('acNewParamTemplate');
  return (
    <Modal {...modalProps} title={current ? t('acEdit') : newTitle} onCancel={onClose} width={640}>
      <Form
        key={current?.id ?? 'new'}
        form={form}
        layout="vertical"
        requiredMark={false}
        initialValues={templateFields(current)}
      >
        {kind === 'prompts' ? (
          <>
            <Form.Item name="title" label={t('acTemplateTitle')} rules={required}>
              <Input maxLength={100} />
            </Form.Item>
            <Form.Item name="prompt" label={t('acPrompt')} rules={required}>
              <Input.TextArea maxLength={4000} autoSize={{ minRows: 3, maxRows: 10 }} />
            </Form.Item>
            <Form.Item name="negativePrompt" label={t('acNegativePrompt')}>
              <Input.TextArea maxLength={4000} autoSize={{ minRows: 1, maxRows: 6 }} />
            </Form.Item>
            <Form.Item name="tags" label={t('acTags')} extra={t('typeToAdd')}>
              <Select mode="tags" open={false} tokenSeparators={[',']} maxCount={10} />
            </Form.Item>
          </>
        ) : (
          <>
            <Form.Item name="name" label={t('name')} rules={required}>
              <Input maxLength={100} />
            </Form.Item>
            <Space wrap align="start">
              <Form.Item
                name="mode"
                label={t('acMode')}
                extra={t('acModeHint')}
                rules={[...required, { pattern: /^[a-z0-9][a-z0-9_-]{0,31}$/, message: t('acModeHint') }]}
              >
                <Input style={{ width: 160 }} />
              </Form.Item>
              <Form.Item
                name="resolution"
                label={t('acResolution')}
                rules={[...required, { pattern: /^[1-9][0-9]{1,4}x[1-9][0-9]{1,4}$/, message: t('acResolutionHint') }]}
              >
                <Input style={{ width: 160 }} placeholder="1024x1024" />
              </Form.Item>
              <Form.Item name="count" label={t('acImageCount')}>
                <InputNumber min={1} max={10} precision={0} style={{ width: 100 }} />
              </Form.Item>
            </Space>
            <Form.Item
              name="params"
              label={t('acOtherParams')}
              extra={t('acOtherParamsHint')}
              rules={[
                {
                  validator: (_, value: string | undefined) =>
                    parseParams(value) ? Promise.resolve() : Promise.reject(new Error(t('acOtherParamsHint'))),
                },
              ]}
            >
              <Input.TextArea autoSize={{ minRows: 2, maxRows: 8 }} />
            </Form.Item>
          </>
        )}
        <Space wrap align="start">
          <Form.Item name="category" label={t('acCategory')} extra={t('acCategoryHint')} rules={required}>
            <Input maxLength={32} style={{ width: 200 }} />
          </Form.Item>
          <Form.Item name="sortOrder" label={t('acSortOrder')}>
            <InputNumber min={0} max={1_000_000} precision={0} style={{ width: 120 }} />
          </Form.Item>
          <Form.Item name="isActive" label={t('acShown')} valuePropName="checked">
            <Switch />
          </Form.Item>
        </Space>
        <Form.Item name="description" label={t('description')}>
          <Input maxLength={500} />
        </Form.Item>
        <Form.Item
          name="coverUrl"
          label={t('acCoverUrl')}
          rules={[{ pattern: /^https?:\/\/\S+$/, message: t('acBadUrl') }]}
        >
          <Input maxLength={500} />
        </Form.Item>
      </Form>
    </Modal>
  );
}

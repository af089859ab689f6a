import { MinusCircleOutlined, PlusOutlined } from '@ant-design/icons';
import { Button, Checkbox, Form, Input, InputNumber, Modal, Select, Space } from 'antd';
import { plansApi, type AdminPlan } from '@/api/admin-catalog.ts';
import { useFormModal } from '@/components/useFormModal.ts';
import { useI18n } from '@/i18n/index.tsx';
import { planBody, planFields, type PlanFields } from './plan-form.ts';

const METRICS = ['credits', 'requests', 'tokens', 'images'] as const;
const PERIODS = ['day', 'week', 'month'] as const;
const LIMITS = ['rpm', 'tpm', 'concurrency', 'rpd'] as const;
const fieldset = { border: 0, padding: 0, margin: '0 0 8px' };

/** Create (`plan` = 'new') or change a plan; undefined: closed. */
export function PlanModal({
  plan,
  onClose,
  onSaved,
}: {
  plan: AdminPlan | 'new' | undefined;
  onClose: () => void;
  onSaved: () => void;
}) {
  const { t } = useI18n();
  const creating = plan === 'new';
  const current = plan === 'new' ? undefined : plan;
  const { form, modalProps } = useFormModal<PlanFields>({
    open: plan !== undefined,
    savedMessage: t('acSaved'),
    onSaved,
    save: (fields) => {
      const body = planBody(fields, creating);
      return current ? plansApi.update(current.id, body) : plansApi.create(body);
    },
  });
  const lifetime = Form.useWatch('lifetime', form) ?? current?.lifetime ?? false;

  const required = [{ required: true, whitespace: true, message: t('required') }];
  return (
    <Modal
      {...modalProps}
      title={creating ? t('acNewPlan') : `${t('acEdit')}: ${current?.name ?? ''}`}
      onCancel={onClose}
      width={720}
    >
      <Form
        key={current?.id ?? 'new'}
        form={form}
        layout="vertical"
        requiredMark={false}
        initialValues={planFields(current)}
      >
        <Space wrap align="start">
          <Form.Item
            name="code"
            label={t('acPlanCode')}
            extra={t('acPlanCodeHint')}
            rules={[...required, { pattern: /^[a-z0-9][a-z0-9_-]*$/, message: t('acPlanCodeHint') }]}
          >
            <Input maxLength={64} disabled={!creating} style={{ width: 200 }} />
          </Form.Item>
          <Form.Item
            name="level"
            label={t('acLevel')}
            extra={t('acLevelHint')}
            rules={[{ required: true, message: t('required') }]}
          >
            <InputNumber min={1} max={1000} precision={0} style={{ width: 120 }} />
          </Form.Item>
          <Form.Item name="sortOrder" label={t('acSortOrder')}>
            <InputNumber min={0} max={1_000_000} precision={0} style={{ width: 120 }} />
          </Form.Item>
        </Space>
        <Space wrap align="start">
          <Form.Item name="name" label={t('acPlanName')} rules={required}>
            <Input maxLength={100} style={{ width: 260 }} />
          </Form.Item>
          <Form.Item name="nameEn" label={t('acPlanNameEn')} extra={t('acEnglishHint')}>
            <Input maxLength={100} style={{ width: 260 }} lang="en" />
          </Form.Item>
        </Space>
        <Form.Item name="description" label={t('description')}>
          <Input maxLength={500} />
        </Form.Item>
        <Space wrap align="start">
          <Form.Item name="priceYuan" label={t('acPriceCny')} rules={[{ required: true, message: t('required') }]}>
            <InputNumber min={0} max={1_000_000_000} precision={2} prefix="¥" style={{ width: 160 }} />
          </Form.Item>
          <Form.Item name="lifetime" label={t('lifetime')} valuePropName="checked">
            <Checkbox>{t('acLifetimeHint')}</Checkbox>
          </Form.Item>
          {!lifetime && (
            <Form.Item
              name="durationDays"
              label={t('acDurationDays')}
              rules={[{ required: true, message: t('required') }]}
            >
              <InputNumber min={1} max={36_500} precision={0} style={{ width: 120 }} />
            </Form.Item>
          )}
        </Space>
        <Space wrap align="start" style={{ width: '100%' }}>
          <Form.Item name="benefits" label={t('acBenefits')} extra={t('acOnePerLine')}>
            <Input.TextArea autoSize={{ minRows: 3, maxRows: 8 }} style={{ width: 300 }} />
          </Form.Item>
          <Form.Item name="benefitsEn" label={t('acBenefitsEn')} extra={t('acOnePerLine')}>
            <Input.TextArea autoSize={{ minRows: 3, maxRows: 8 }} style={{ width: 300 }} lang="en" />
          </Form.Item>
        </Space>
        <fieldset style={fieldset}>
          <legend style={{ fontSize: 16 }}>{t('acEntitlements')}</legend>
          <Space wrap align="start">
            <Form.Item name="creditsOnActivation" label={t('acCreditsOnActivation')}>
              <InputNumber min={0} max={1_000_000_000} precision={0} style={{ width: 160 }} />
            </Form.Item>
            <Form.Item name="multiplierPermille" label={t('acMultiplier')} extra={t('acMultiplierHint')}>
              <InputNumber min={0} max={100_000} precision={0} style={{ width: 160 }} />
            </Form.Item>
          </Space>
          <Form.Item name="models" label={t('allowedModels')} extra={t('acPlanModelsHint')}>
            <Select mode="tags" open={false} tokenSeparators={[',', ' ']} placeholder={t('allModels')} />
          </Form.Item>
          <div style={{ marginBottom: 8 }}>{t('acAllowances')}</div>
          <Form.List name="allowances">
            {(rows, { add, remove }) => (
              <>
                {rows.map((row, i) => (
                  <Space key={row.key} wrap align="start">
                    <Form.Item
                      name={[row.name, 'metric']}
                      label={t('acMetric')}
                      rules={[{ required: true, message: t('required') }]}
                    >
                      <Select
                        style={{ width: 130 }}
                        options={METRICS.map((m) => ({ value: m, label: t(`metric_${m}`) }))}
                      />
                    </Form.Item>
                    <Form.Item
                      name={[row.name, 'period']}
                      label={t('acPeriod')}
                      rules={[{ required: true, message: t('required') }]}
                    >
                      <Select
                        style={{ width: 110 }}
                        options={PERIODS.map((p) => ({ value: p, label: t(`period_${p}`) }))}
                      />
                    </Form.Item>
                    <Form.Item
                      name={[row.name, 'limit']}
                      label={t('acLimit')}
                      rules={[{ required: true, message: t('required') }]}
                    >
                      <InputNumber min={1} max={1_000_000_000_000} precision={0} style={{ width: 150 }} />
                    </Form.Item>
                    <Button
                      type="text"
                      icon={<MinusCircleOutlined />}
                      aria-label={t('acRemoveAllowance', { n: i + 1 })}
                      onClick={() => remove(row.name)}
                      style={{ marginTop: 30 }}
                    />
                  </Space>
                ))}
                <Button
                  icon={<PlusOutlined />}
                  onClick={() => add({ metric: 'requests', period: 'day', limit: 100 })}
                  style={{ marginBottom: 16 }}
                >
                  {t('acAddAllowance')}
                </Button>
              </>
            )}
          </Form.List>
          <div style={{ marginBottom: 8 }}>{t('acPlanRateLimits')}</div>
          <Space wrap>
            {LIMITS.map((limit) => (
              <Form.Item key={limit} name={limit} label={t(limit)}>
                <InputNumber min={0} precision={0} style={{ width: 140 }} />
              </Form.Item>
            ))}
          </Space>
        </fieldset>
      </Form>
    </Modal>
  );
}

import { Button, Form, Select } from 'antd';
import type { ReactNode } from 'react';
import { useI18n } from '@/i18n/index.tsx';

/**
 * The filters above a paged list: its fields in a row (wrapping on a phone) and a Filter button.
 * Applying them hands the values to `onApply` and shows the list's first page.
 */
export function FilterBar<F extends object>({
  list,
  onApply,
  initialValues,
  children,
}: {
  list: { firstPage: () => void };
  onApply: (values: F) => void;
  initialValues?: F;
  children: ReactNode;
}) {
  const { t } = useI18n();
  return (
    <Form<F>
      layout="inline"
      initialValues={initialValues}
      style={{ marginBottom: 16, rowGap: 8 }}
      onFinish={(values) => {
        onApply(values);
        list.firstPage();
      }}
    >
      {children}
      <Form.Item>
        <Button type="primary" htmlType="submit">
          {t('filter')}
        </Button>
      </Form.Item>
    </Form>
  );
}

/** A filter field choosing one of `options`, or any ("All") when cleared. */
export function ChoiceFilter<V extends string>({
  name,
  label,
  options,
  width = 120,
}: {
  name: string;
  label: string;
  options: { value: V; label: string }[] | undefined;
  width?: number;
}) {
  const { t } = useI18n();
  return (
    <Form.Item name={name} label={label}>
      <Select<V> allowClear placeholder={t('all')} style={{ width }} options={options} />
    </Form.Item>
  );
}

import { Form, Input, Space, type FormInstance } from 'antd';
import { useI18n } from '@/i18n/index.tsx';
import { emailRules } from './rules.ts';
import { SendCodeButton } from './SendCodeButton.tsx';

/** The email and its emailed code, with the button that sends the code to `path`. */
export function EmailCodeFields({ form, path }: { form: FormInstance; path: string }) {
  const { t } = useI18n();
  return (
    <>
      <Form.Item name="email" label={t('email')} rules={emailRules(t)}>
        <Input autoComplete="email" type="email" />
      </Form.Item>
      <Form.Item label={t('code')} required>
        <Space.Compact style={{ width: '100%' }}>
          <Form.Item name="code" noStyle rules={[{ required: true, message: t('required') }]}>
            <Input aria-label={t('code')} inputMode="numeric" autoComplete="one-time-code" maxLength={6} />
          </Form.Item>
          <SendCodeButton form={form} path={path} />
        </Space.Compact>
      </Form.Item>
    </>
  );
}

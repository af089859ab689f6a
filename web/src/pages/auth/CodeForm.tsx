import { Alert, Button, Form, Input } from 'antd';
import type { ReactNode } from 'react';
import { Link } from 'react-router-dom';
import { useI18n } from '@/i18n/index.tsx';
import { AuthFrame } from './AuthFrame.tsx';
import { EmailCodeFields } from './EmailCodeFields.tsx';
import { passwordRules } from './rules.ts';
import { useSubmit } from './useSubmit.ts';

/**
 * Sign-up and reset: an email, the code mailed to it (sent through `codePath`), a new password under
 * `passwordField`, any `extra` fields, the submit button, and the link back to sign-in.
 */
export function CodeForm<F extends { email: string; code: string }>({
  title,
  codePath,
  passwordField,
  passwordLabel,
  extra,
  action,
}: {
  title: string;
  codePath: string;
  passwordField: 'password' | 'newPassword';
  passwordLabel: string;
  extra?: ReactNode;
  action: (fields: F) => Promise<void>;
}) {
  const { t } = useI18n();
  const [form] = Form.useForm();
  const { error, busy, submit } = useSubmit(action);
  return (
    <AuthFrame title={title}>
      {error && <Alert role="alert" type="error" showIcon title={error} style={{ marginBottom: 16 }} />}
      <Form form={form} layout="vertical" onFinish={(fields: F) => submit(fields)} requiredMark={false}>
        <EmailCodeFields form={form} path={codePath} />
        <Form.Item name={passwordField} label={passwordLabel} rules={passwordRules(t)} extra={t('passwordRule')}>
          <Input.Password autoComplete="new-password" />
        </Form.Item>
        {extra}
        <Button type="primary" htmlType="submit" block loading={busy}>
          {title}
        </Button>
      </Form>
      <div style={{ marginTop: 16 }}>
        <Link to="/dashboard/login">{t('haveAccount')}</Link>
      </div>
    </AuthFrame>
  );
}

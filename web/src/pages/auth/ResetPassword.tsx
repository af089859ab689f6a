import { Alert, Button, Form, Input, Space } from 'antd';
import { useState } from 'react';
import { Link, useNavigate } from 'react-router-dom';
import { api } from '@/api/client.ts';
import { useI18n } from '@/i18n/index.tsx';
import { AuthFrame } from './AuthFrame.tsx';
import { emailRules, passwordRules } from './rules.ts';
import { SendCodeButton } from './SendCodeButton.tsx';

interface Fields {
  email: string;
  code: string;
  newPassword: string;
}

export function ResetPasswordPage() {
  const { t } = useI18n();
  const [form] = Form.useForm<Fields>();
  const navigate = useNavigate();
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);

  const submit = async (fields: Fields) => {
    setBusy(true);
    setError(undefined);
    try {
      await api('/api/auth/reset-password', { method: 'POST', noRefresh: true, body: fields });
      await navigate('/dashboard/login?reset=1', { replace: true });
    } catch (failure) {
      setError((failure as Error).message);
    } finally {
      setBusy(false);
    }
  };

  return (
    <AuthFrame title={t('resetPassword')}>
      {error && <Alert role="alert" type="error" showIcon title={error} style={{ marginBottom: 16 }} />}
      <Form form={form} layout="vertical" onFinish={(fields) => void submit(fields)} requiredMark={false}>
        <Form.Item name="email" label={t('email')} rules={emailRules(t)}>
          <Input autoComplete="email" type="email" />
        </Form.Item>
        <Form.Item label={t('code')} required>
          <Space.Compact style={{ width: '100%' }}>
            <Form.Item name="code" noStyle rules={[{ required: true, message: t('required') }]}>
              <Input aria-label={t('code')} inputMode="numeric" autoComplete="one-time-code" maxLength={6} />
            </Form.Item>
            <SendCodeButton form={form} path="/api/auth/send-reset-code" />
          </Space.Compact>
        </Form.Item>
        <Form.Item name="newPassword" label={t('newPassword')} rules={passwordRules(t)} extra={t('passwordRule')}>
          <Input.Password autoComplete="new-password" />
        </Form.Item>
        <Button type="primary" htmlType="submit" block loading={busy}>
          {t('resetPassword')}
        </Button>
      </Form>
      <div style={{ marginTop: 16 }}>
        <Link to="/dashboard/login">{t('haveAccount')}</Link>
      </div>
    </AuthFrame>
  );
}

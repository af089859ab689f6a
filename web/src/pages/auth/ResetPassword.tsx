import { Alert, Button, Form, Input } from 'antd';
import { useState } from 'react';
import { Link, useNavigate } from 'react-router-dom';
import { api } from '@/api/client.ts';
import { useI18n } from '@/i18n/index.tsx';
import { AuthFrame } from './AuthFrame.tsx';
import { passwordRules } from './rules.ts';
import { EmailCodeFields } from './EmailCodeFields.tsx';

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
        <EmailCodeFields form={form} path="/api/auth/send-reset-code" />
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

import { useQueryClient } from '@tanstack/react-query';
import { Alert, Button, Form, Input } from 'antd';
import { useState } from 'react';
import { Link, useNavigate } from 'react-router-dom';
import { api } from '@/api/client.ts';
import { PROFILE_KEY } from '@/api/session.ts';
import { useI18n } from '@/i18n/index.tsx';
import { AuthFrame } from './AuthFrame.tsx';
import { passwordRules } from './rules.ts';
import { EmailCodeFields } from './EmailCodeFields.tsx';

interface Fields {
  email: string;
  code: string;
  password: string;
  username?: string;
}

export function SignUpPage() {
  const { t } = useI18n();
  const [form] = Form.useForm<Fields>();
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);

  const submit = async ({ username, ...fields }: Fields) => {
    setBusy(true);
    setError(undefined);
    try {
      await api('/api/auth/register', {
        method: 'POST',
        noRefresh: true,
        body: { ...fields, ...(username?.trim() ? { username: username.trim() } : {}) },
      });
      await queryClient.invalidateQueries({ queryKey: PROFILE_KEY });
      await navigate('/dashboard', { replace: true });
    } catch (failure) {
      setError((failure as Error).message);
    } finally {
      setBusy(false);
    }
  };

  return (
    <AuthFrame title={t('signUp')}>
      {error && <Alert role="alert" type="error" showIcon title={error} style={{ marginBottom: 16 }} />}
      <Form form={form} layout="vertical" onFinish={(fields) => void submit(fields)} requiredMark={false}>
        <EmailCodeFields form={form} path="/api/auth/send-code" />
        <Form.Item name="password" label={t('password')} rules={passwordRules(t)} extra={t('passwordRule')}>
          <Input.Password autoComplete="new-password" />
        </Form.Item>
        <Form.Item name="username" label={t('username')}>
          <Input autoComplete="nickname" maxLength={64} />
        </Form.Item>
        <Button type="primary" htmlType="submit" block loading={busy}>
          {t('signUp')}
        </Button>
      </Form>
      <div style={{ marginTop: 16 }}>
        <Link to="/dashboard/login">{t('haveAccount')}</Link>
      </div>
    </AuthFrame>
  );
}

import { useQueryClient } from '@tanstack/react-query';
import { Form, Input } from 'antd';
import { useNavigate } from 'react-router-dom';
import { api } from '@/api/client.ts';
import { PROFILE_KEY } from '@/api/session.ts';
import { useI18n } from '@/i18n/index.tsx';
import { CodeForm } from './CodeForm.tsx';

interface Fields {
  email: string;
  code: string;
  password: string;
  username?: string;
}

export function SignUpPage() {
  const { t } = useI18n();
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const register = async ({ username, ...fields }: Fields) => {
    await api('/api/auth/register', {
      method: 'POST',
      noRefresh: true,
      body: { ...fields, ...(username?.trim() ? { username: username.trim() } : {}) },
    });
    await queryClient.invalidateQueries({ queryKey: PROFILE_KEY });
    await navigate('/dashboard', { replace: true });
  };
  return (
    <CodeForm<Fields>
      title={t('signUp')}
      codePath="/api/auth/send-code"
      passwordField="password"
      passwordLabel={t('password')}
      action={register}
      extra={
        <Form.Item name="username" label={t('username')}>
          <Input autoComplete="nickname" maxLength={64} />
        </Form.Item>
      }
    />
  );
}

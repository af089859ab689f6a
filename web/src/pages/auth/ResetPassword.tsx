import { useNavigate } from 'react-router-dom';
import { api } from '@/api/client.ts';
import { useI18n } from '@/i18n/index.tsx';
import { CodeForm } from './CodeForm.tsx';

interface Fields {
  email: string;
  code: string;
  newPassword: string;
}

export function ResetPasswordPage() {
  const { t } = useI18n();
  const navigate = useNavigate();
  const reset = async (fields: Fields) => {
    await api('/api/auth/reset-password', { method: 'POST', noRefresh: true, body: fields });
    await navigate('/dashboard/login?reset=1', { replace: true });
  };
  return (
    <CodeForm<Fields>
      title={t('resetPassword')}
      codePath="/api/auth/send-reset-code"
      passwordField="newPassword"
      passwordLabel={t('newPassword')}
      action={reset}
    />
  );
}

import { App, Button, type FormInstance } from 'antd';
import { useEffect, useState } from 'react';
import { api } from '@/api/client.ts';
import { useI18n } from '@/i18n/index.tsx';

/** Sends an email code to the form's `email`, then waits out the resend cooldown. */
export function SendCodeButton({ form, path }: { form: FormInstance; path: string }) {
  const { t } = useI18n();
  const { message } = App.useApp();
  const [wait, setWait] = useState(0);
  const [sending, setSending] = useState(false);
  useEffect(() => {
    if (wait <= 0) return;
    const timer = setTimeout(() => setWait(wait - 1), 1000);
    return () => clearTimeout(timer);
  }, [wait]);

  const sendCode = async () => {
    const { email } = (await form.validateFields(['email'])) as { email: string };
    setSending(true);
    try {
      await api(path, { method: 'POST', body: { email }, noRefresh: true });
      void message.success(t('codeSent'));
      setWait(60);
    } catch (error) {
      void message.error((error as Error).message);
    } finally {
      setSending(false);
    }
  };

  return (
    <Button onClick={() => void sendCode()} loading={sending} disabled={wait > 0}>
      {wait > 0 ? t('resendIn', { s: wait }) : t('sendCode')}
    </Button>
  );
}

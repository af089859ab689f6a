import { ReloadOutlined } from '@ant-design/icons';
import { useQueryClient } from '@tanstack/react-query';
import { Alert, Button, Flex, Form, Input, Space } from 'antd';
import { useEffect, useState } from 'react';
import { Link, useNavigate, useSearchParams } from 'react-router-dom';
import { api, withQuery } from '@/api/client.ts';
import { PROFILE_KEY } from '@/api/session.ts';
import { useI18n } from '@/i18n/index.tsx';
import { AuthFrame } from './AuthFrame.tsx';
import { useSubmit } from './useSubmit.ts';
import { emailRules } from './rules.ts';

interface LoginStatus {
  requiresCaptcha: boolean;
  isLocked: boolean;
  remainingLockTime: number;
}

interface Captcha {
  sessionId: string;
  captcha: string;
}

interface Fields {
  email: string;
  password: string;
  captchaCode?: string;
}

/** `m:ss` of a number of seconds. */
const clock = (seconds: number) => `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, '0')}`;

/** Only a path inside the console: `next` comes from the URL and must not send anyone elsewhere. */
function safeNext(next: string | null): string {
  return next && /^\/(dashboard|admin)(\/|$|\?)/.test(next) ? next : '/dashboard';
}

export function SignInPage() {
  const { t } = useI18n();
  const [form] = Form.useForm<Fields>();
  const [search] = useSearchParams();
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const [captcha, setCaptcha] = useState<Captcha>();
  const [lockedFor, setLockedFor] = useState(0);

  useEffect(() => {
    if (lockedFor <= 0) return;
    const timer = setTimeout(() => setLockedFor(lockedFor - 1), 1000);
    return () => clearTimeout(timer);
  }, [lockedFor]);

  const newCaptcha = async () => setCaptcha(await api<Captcha>('/api/captcha/generate', { noRefresh: true }));

  /** After a failure: does this email now need a captcha, or is it locked (and for how long)? */
  const refreshStatus = async (email: string) => {
    const status = await api<LoginStatus>(withQuery('/api/auth/login-status', { email }), { noRefresh: true });
    setLockedFor(status.isLocked ? status.remainingLockTime : 0);
    if (status.requiresCaptcha) await newCaptcha();
  };

  const { error, busy, submit } = useSubmit(async (fields: Fields) => {
    try {
      await api('/api/auth/login', {
        method: 'POST',
        noRefresh: true,
        body: {
          email: fields.email,
          password: fields.password,
          ...(captcha ? { captchaSessionId: captcha.sessionId, captchaCode: fields.captchaCode ?? '' } : {}),
        },
      });
    } catch (failure) {
      form.setFieldValue('captchaCode', '');
      await refreshStatus(fields.email).catch(() => undefined);
      throw failure;
    }
    await queryClient.invalidateQueries({ queryKey: PROFILE_KEY });
    await navigate(safeNext(search.get('next')), { replace: true });
  });

  return (
    <AuthFrame title={t('signIn')}>
      {search.get('ended') && <Alert type="info" showIcon title={t('sessionEnded')} style={{ marginBottom: 16 }} />}
      {search.get('reset') && <Alert type="success" showIcon title={t('resetDone')} style={{ marginBottom: 16 }} />}
      {lockedFor > 0 ? (
        <Alert
          role="alert"
          type="warning"
          showIcon
          title={t('lockedFor', { time: clock(lockedFor) })}
          style={{ marginBottom: 16 }}
        />
      ) : (
        error && <Alert role="alert" type="error" showIcon title={error} style={{ marginBottom: 16 }} />
      )}
      <Form form={form} layout="vertical" onFinish={submit} requiredMark={false}>
        <Form.Item name="email" label={t('email')} rules={emailRules(t)}>
          <Input autoComplete="username" type="email" />
        </Form.Item>
        <Form.Item name="password" label={t('password')} rules={[{ required: true, message: t('required') }]}>
          <Input.Password autoComplete="current-password" />
        </Form.Item>
        {captcha && (
          <Form.Item label={t('captcha')} required>
            <Space.Compact style={{ width: '100%' }}>
              <Form.Item name="captchaCode" noStyle rules={[{ required: true, message: t('required') }]}>
                <Input aria-label={t('captcha')} autoComplete="off" />
              </Form.Item>
              <img
                alt={t('captchaImage')}
                src={`data:image/svg+xml;charset=utf-8,${encodeURIComponent(captcha.captcha)}`}
                style={{ height: 32, background: '#fff' }}
              />
              <Button aria-label={t('captchaRefresh')} icon={<ReloadOutlined />} onClick={() => void newCaptcha()} />
            </Space.Compact>
          </Form.Item>
        )}
        <Button type="primary" htmlType="submit" block loading={busy} disabled={lockedFor > 0}>
          {t('signIn')}
        </Button>
      </Form>
      <Flex justify="space-between" style={{ marginTop: 16 }} wrap gap={8}>
        <Link to="/dashboard/register">{t('noAccount')}</Link>
        <Link to="/dashboard/reset-password">{t('forgotPassword')}</Link>
      </Flex>
    </AuthFrame>
  );
}

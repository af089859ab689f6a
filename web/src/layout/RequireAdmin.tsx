import { Result } from 'antd';
import { Outlet } from 'react-router-dom';
import { useProfile } from '@/api/session.ts';
import { useI18n } from '@/i18n/index.tsx';

/** The admin area's pages for admins; anyone else signed in sees a 403 (the API refuses them too). */
export function RequireAdmin() {
  const { t } = useI18n();
  const profile = useProfile();
  if (profile.data?.role !== 'admin') return <Result status="403" title="403" subTitle={t('adminOnly')} />;
  return <Outlet />;
}

import { Tag } from 'antd';
import type { Role, UserStatus } from '@/api/admin-people.ts';
import { useI18n } from '@/i18n/index.tsx';

export function RoleTag({ role }: { role: Role }) {
  const { t } = useI18n();
  return <Tag color={role === 'admin' ? 'purple' : undefined}>{t(`apRole_${role}`)}</Tag>;
}

export function StatusTag({ status }: { status: UserStatus }) {
  const { t } = useI18n();
  return <Tag color={status === 'active' ? 'green' : 'red'}>{t(`apStatus_${status}`)}</Tag>;
}

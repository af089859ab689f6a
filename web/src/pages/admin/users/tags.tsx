import { Badge, Tag } from 'antd';
import type { Role, UserStatus } from '@/api/admin-people.ts';
import { useI18n } from '@/i18n/index.tsx';

export function RoleTag({ role }: { role: Role }) {
  const { t } = useI18n();
  return <Tag color={role === 'admin' ? 'blue' : undefined}>{t(`apRole_${role}`)}</Tag>;
}

/** A status as a coloured dot and a word (the word keeps the text's contrast in both themes). */
export function StatusTag({ status }: { status: UserStatus }) {
  const { t } = useI18n();
  return <Badge status={status === 'active' ? 'success' : 'error'} text={t(`apStatus_${status}`)} />;
}

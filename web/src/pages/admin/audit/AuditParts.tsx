import { Link } from 'react-router-dom';
import type { AuditEntry } from '@/api/admin-people.ts';
import { useI18n } from '@/i18n/index.tsx';

/** Who did it: the admin (a link to their account) or the admin key. */
export function Actor({ entry }: { entry: AuditEntry }) {
  const { t } = useI18n();
  if (entry.actor.kind === 'adminkey' || !entry.actor.userId) return <>{t('apAdminKey')}</>;
  return <Link to={`/admin/users/${encodeURIComponent(entry.actor.userId)}`}>{entry.actor.userId}</Link>;
}

/** What it was done to: a user or an order as a link to its page, anything else as its type and id. */
export function Target({ entry }: { entry: AuditEntry }) {
  const target = entry.target;
  if (!target) return <>—</>;
  const page = target.type === 'user' ? 'users' : target.type === 'order' ? 'orders' : undefined;
  if (page && target.id)
    return <Link to={`/admin/${page}/${encodeURIComponent(target.id)}`}>{`${target.type} ${target.id}`}</Link>;
  return <>{`${target.type} ${target.id ?? ''}`}</>;
}

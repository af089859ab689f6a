import { Form, Input } from 'antd';
import { useState } from 'react';
import { Link } from 'react-router-dom';
import type { AdminUser, Role, UserStatus } from '@/api/admin-people.ts';
import { usePaged } from '@/api/paged.ts';
import { PagedTable } from '@/components/PagedTable.tsx';
import { dateTime } from '@/format.ts';
import { useI18n } from '@/i18n/index.tsx';
import { ChoiceFilter, FilterBar } from '@/components/FilterBar.tsx';
import { PageTitle } from '@/pages/PageTitle.tsx';
import { RoleTag, StatusTag } from './tags.tsx';

interface Filter {
  search?: string;
  role?: Role;
  status?: UserStatus;
}

/** Every account, newest first: found by part of an email or username, or an id; by role and status. */
export function UsersPage() {
  const { t } = useI18n();
  const [filter, setFilter] = useState<Filter>({});
  const users = usePaged<AdminUser>(['admin', 'users'], '/api/admin/users', {
    search: filter.search?.trim() || undefined,
    role: filter.role,
    status: filter.status,
  });

  return (
    <>
      <PageTitle>{t('apUsers')}</PageTitle>
      <FilterBar<Filter> list={users} onApply={setFilter}>
        <Form.Item name="search" label={t('apSearch')}>
          <Input allowClear placeholder={t('apUserSearchHint')} style={{ width: 240 }} />
        </Form.Item>
        <ChoiceFilter
          name="role"
          label={t('role')}
          options={[
            { value: 'user', label: t('apRole_user') },
            { value: 'admin', label: t('apRole_admin') },
          ]}
        />
        <ChoiceFilter
          name="status"
          label={t('status')}
          options={[
            { value: 'active', label: t('apStatus_active') },
            { value: 'disabled', label: t('apStatus_disabled') },
          ]}
        />
      </FilterBar>
      <PagedTable<AdminUser>
        list={users}
        label={t('apUsers')}
        sizeChanger
        columns={[
          {
            title: t('apAccount'),
            render: (_, user) => (
              <Link to={`/admin/users/${encodeURIComponent(user.id)}`}>{user.email ?? user.username}</Link>
            ),
          },
          { title: t('status'), dataIndex: 'status', render: (status: UserStatus) => <StatusTag status={status} /> },
          { title: t('role'), dataIndex: 'role', render: (role: Role) => <RoleTag role={role} />, responsive: ['sm'] },
          { title: t('apUsername'), dataIndex: 'username', responsive: ['md'] },
          { title: t('createdAt'), dataIndex: 'createdAt', render: (v: string) => dateTime(v), responsive: ['md'] },
        ]}
      />
    </>
  );
}

import {
  CreditCardOutlined,
  DashboardOutlined,
  KeyOutlined,
  UnorderedListOutlined,
  UserOutlined,
  WalletOutlined,
} from '@ant-design/icons';
import type { ReactNode } from 'react';
import type { MessageKey } from '@/i18n/en.ts';
import { ADMIN_CATALOG_NAV } from '@/pages/admin/catalog-routes.tsx';
import { ADMIN_PEOPLE_NAV } from '@/pages/admin/people-routes.tsx';
import { CHAT_NAV } from '@/pages/chat/routes.tsx';
import { IMAGES_NAV } from '@/pages/images/routes.tsx';

export interface NavItem {
  path: string;
  label: MessageKey;
  icon: ReactNode;
}

/** A user's pages, in menu order. */
export const USER_NAV: NavItem[] = [
  { path: '/dashboard', label: 'navOverview', icon: <DashboardOutlined /> },
  { path: '/dashboard/keys', label: 'navKeys', icon: <KeyOutlined /> },
  { path: '/dashboard/usage', label: 'navUsage', icon: <UnorderedListOutlined /> },
  { path: '/dashboard/credits', label: 'navCredits', icon: <WalletOutlined /> },
  { path: '/dashboard/plans', label: 'navPlans', icon: <CreditCardOutlined /> },
  ...CHAT_NAV,
  ...IMAGES_NAV,
  { path: '/dashboard/account', label: 'navAccount', icon: <UserOutlined /> },
];

/** The admin area's pages (under /admin), shown to admins as a second menu group. */
export const ADMIN_NAV: NavItem[] = [...ADMIN_PEOPLE_NAV, ...ADMIN_CATALOG_NAV];

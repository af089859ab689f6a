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
  { path: '/dashboard/account', label: 'navAccount', icon: <UserOutlined /> },
];

/** The admin area's pages (under /admin), shown to admins as a second menu group once they exist. */
export const ADMIN_NAV: NavItem[] = [];

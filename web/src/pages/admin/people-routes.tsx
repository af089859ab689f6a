import { AuditOutlined, FundOutlined, ShoppingOutlined, TeamOutlined } from '@ant-design/icons';
import type { RouteObject } from 'react-router-dom';
import type { NavItem } from '@/layout/nav.tsx';
import { lazyPage as page } from '@/lazy-page.ts';

const Overview = page(() => import('./overview/AdminOverview.tsx'), 'AdminOverviewPage');
const Users = page(() => import('./users/Users.tsx'), 'UsersPage');
const UserDetail = page(() => import('./users/UserDetail.tsx'), 'UserDetailPage');
const Orders = page(() => import('./orders/Orders.tsx'), 'OrdersPage');
const OrderDetail = page(() => import('./orders/OrderDetail.tsx'), 'OrderDetailPage');
const Audit = page(() => import('./audit/Audit.tsx'), 'AuditPage');

/** Admin overview, users, orders and audit log (under /admin): the menu entries, in order. */
export const ADMIN_PEOPLE_NAV: NavItem[] = [
  { path: '/admin', label: 'apOverview', icon: <FundOutlined /> },
  { path: '/admin/users', label: 'apUsers', icon: <TeamOutlined /> },
  { path: '/admin/orders', label: 'apOrders', icon: <ShoppingOutlined /> },
  { path: '/admin/audit', label: 'apAudit', icon: <AuditOutlined /> },
];

/** Their routes, relative to the area's path; each page a chunk of its own (lazyPage). */
export const ADMIN_PEOPLE_ROUTES: RouteObject[] = [
  { index: true, element: <Overview /> },
  { path: 'users', element: <Users /> },
  { path: 'users/:id', element: <UserDetail /> },
  { path: 'orders', element: <Orders /> },
  { path: 'orders/:id', element: <OrderDetail /> },
  { path: 'audit', element: <Audit /> },
];

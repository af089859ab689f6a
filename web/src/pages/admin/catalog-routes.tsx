import type { RouteObject } from 'react-router-dom';
import type { NavItem } from '@/layout/nav.tsx';

/** Admin channels, Dify apps, prices, plans, redeem batches, orders, templates and gallery moderation (under /admin): the menu entries, in order. */
export const ADMIN_CATALOG_NAV: NavItem[] = [];

/** Their routes, relative to the area's path; each page a chunk of its own (lazyPage). */
export const ADMIN_CATALOG_ROUTES: RouteObject[] = [];

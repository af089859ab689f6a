import type { RouteObject } from 'react-router-dom';
import type { NavItem } from '@/layout/nav.tsx';

/** Admin overview, users and audit log (under /admin): the menu entries, in order. */
export const ADMIN_PEOPLE_NAV: NavItem[] = [];

/** Their routes, relative to the area's path; each page a chunk of its own (lazyPage). */
export const ADMIN_PEOPLE_ROUTES: RouteObject[] = [];

import type { RouteObject } from 'react-router-dom';
import type { NavItem } from '@/layout/nav.tsx';

/** Playground and Dify chat (under /dashboard): the menu entries, in order. */
export const CHAT_NAV: NavItem[] = [];

/** Their routes, relative to the area's path; each page a chunk of its own (lazyPage). */
export const CHAT_ROUTES: RouteObject[] = [];

import type { RouteObject } from 'react-router-dom';
import type { NavItem } from '@/layout/nav.tsx';

/** Images: generate, jobs, characters, gallery, favorites (under /dashboard): the menu entries, in order. */
export const IMAGES_NAV: NavItem[] = [];

/** Their routes, relative to the area's path; each page a chunk of its own (lazyPage). */
export const IMAGES_ROUTES: RouteObject[] = [];

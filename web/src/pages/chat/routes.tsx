import { CommentOutlined, ExperimentOutlined } from '@ant-design/icons';
import type { RouteObject } from 'react-router-dom';
import type { NavItem } from '@/layout/nav.tsx';
import { lazyPage } from '@/lazy-page.ts';

const Playground = lazyPage(() => import('./Playground.tsx'), 'PlaygroundPage');
const DifyChat = lazyPage(() => import('./DifyChat.tsx'), 'DifyChatPage');

/** Playground and Dify chat (under /dashboard): the menu entries, in order. */
export const CHAT_NAV: NavItem[] = [
  { path: '/dashboard/playground', label: 'navPlayground', icon: <ExperimentOutlined /> },
  { path: '/dashboard/chat', label: 'navChat', icon: <CommentOutlined /> },
];

/** Their routes, relative to the area's path; each page a chunk of its own (lazyPage). */
export const CHAT_ROUTES: RouteObject[] = [
  { path: 'playground', element: <Playground /> },
  { path: 'chat', element: <DifyChat /> },
];

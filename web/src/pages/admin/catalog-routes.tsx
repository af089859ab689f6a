import {
  ApiOutlined,
  DollarOutlined,
  FileTextOutlined,
  GiftOutlined,
  PictureOutlined,
  ProfileOutlined,
} from '@ant-design/icons';
import type { RouteObject } from 'react-router-dom';
import type { NavItem } from '@/layout/nav.tsx';
import { lazyPage as page } from '@/lazy-page.ts';

const Channels = page(() => import('./channels/Channels.tsx'), 'ChannelsPage');
const Prices = page(() => import('./prices/Prices.tsx'), 'PricesPage');
const Plans = page(() => import('./plans/AdminPlans.tsx'), 'AdminPlansPage');
const Redeem = page(() => import('./redeem/Redeem.tsx'), 'RedeemPage');
const Templates = page(() => import('./templates/Templates.tsx'), 'TemplatesPage');
const Gallery = page(() => import('./gallery/Gallery.tsx'), 'GalleryModerationPage');

/** Admin channels, Dify apps, prices, plans, redeem batches, templates and gallery moderation (under /admin): the menu entries, in order. */
export const ADMIN_CATALOG_NAV: NavItem[] = [
  { path: '/admin/channels', label: 'navChannels', icon: <ApiOutlined /> },
  { path: '/admin/prices', label: 'navPrices', icon: <DollarOutlined /> },
  { path: '/admin/plans', label: 'navAdminPlans', icon: <ProfileOutlined /> },
  { path: '/admin/redeem', label: 'navRedeem', icon: <GiftOutlined /> },
  { path: '/admin/templates', label: 'navTemplates', icon: <FileTextOutlined /> },
  { path: '/admin/gallery', label: 'navGallery', icon: <PictureOutlined /> },
];

/** Their routes, relative to the area's path; each page a chunk of its own (lazyPage). */
export const ADMIN_CATALOG_ROUTES: RouteObject[] = [
  { path: 'channels', element: <Channels /> },
  { path: 'prices', element: <Prices /> },
  { path: 'plans', element: <Plans /> },
  { path: 'redeem', element: <Redeem /> },
  { path: 'templates', element: <Templates /> },
  { path: 'gallery', element: <Gallery /> },
];

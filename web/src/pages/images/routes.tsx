import { FileImageOutlined, HeartOutlined, HistoryOutlined, PictureOutlined, SmileOutlined } from '@ant-design/icons';
import type { RouteObject } from 'react-router-dom';
import type { NavItem } from '@/layout/nav.tsx';
import { lazyPage } from '@/lazy-page.ts';

const Generate = lazyPage(() => import('./Generate.tsx'), 'GeneratePage');
const Jobs = lazyPage(() => import('./Jobs.tsx'), 'JobsPage');
const Characters = lazyPage(() => import('./Characters.tsx'), 'CharactersPage');
const Gallery = lazyPage(() => import('./Gallery.tsx'), 'GalleryPage');
const Favorites = lazyPage(() => import('./Favorites.tsx'), 'FavoritesPage');

/** Images: generate, jobs, characters, gallery, favorites (under /dashboard): the menu entries, in order. */
export const IMAGES_NAV: NavItem[] = [
  { path: '/dashboard/images', label: 'navImages', icon: <FileImageOutlined /> },
  { path: '/dashboard/images/jobs', label: 'navImageJobs', icon: <HistoryOutlined /> },
  { path: '/dashboard/characters', label: 'navCharacters', icon: <SmileOutlined /> },
  { path: '/dashboard/gallery', label: 'navGallery', icon: <PictureOutlined /> },
  { path: '/dashboard/favorites', label: 'navFavorites', icon: <HeartOutlined /> },
];

/** Their routes, relative to the area's path; each page a chunk of its own (lazyPage). */
export const IMAGES_ROUTES: RouteObject[] = [
  { path: 'images', element: <Generate /> },
  { path: 'images/jobs', element: <Jobs /> },
  { path: 'characters', element: <Characters /> },
  { path: 'gallery', element: <Gallery /> },
  { path: 'favorites', element: <Favorites /> },
];

import { Spin } from 'antd';
import { Suspense, type ComponentType } from 'react';
import { createBrowserRouter, Navigate } from 'react-router-dom';
import { NotFound } from './layout/NotFound.tsx';
import { RequireAdmin } from './layout/RequireAdmin.tsx';
import { Shell } from './layout/Shell.tsx';
import { lazyPage as page } from './lazy-page.ts';
import { ADMIN_CATALOG_ROUTES } from './pages/admin/catalog-routes.tsx';
import { ADMIN_PEOPLE_ROUTES } from './pages/admin/people-routes.tsx';
import { CHAT_ROUTES } from './pages/chat/routes.tsx';
import { IMAGES_ROUTES } from './pages/images/routes.tsx';

const SignIn = page(() => import('./pages/auth/SignIn.tsx'), 'SignInPage');
const SignUp = page(() => import('./pages/auth/SignUp.tsx'), 'SignUpPage');
const ResetPassword = page(() => import('./pages/auth/ResetPassword.tsx'), 'ResetPasswordPage');
const Overview = page(() => import('./pages/overview/Overview.tsx'), 'OverviewPage');
const Keys = page(() => import('./pages/keys/Keys.tsx'), 'KeysPage');
const Usage = page(() => import('./pages/usage/Usage.tsx'), 'UsagePage');
const Credits = page(() => import('./pages/credits/Credits.tsx'), 'CreditsPage');
const Plans = page(() => import('./pages/plans/Plans.tsx'), 'PlansPage');
const Account = page(() => import('./pages/account/Account.tsx'), 'AccountPage');

export const PageFallback = () => <Spin style={{ display: 'block', margin: '64px auto' }} />;

const standalone = (Page: ComponentType) => (
  <Suspense fallback={<PageFallback />}>
    <Page />
  </Suspense>
);

/**
 * `/dashboard/*`: a user's pages; `/admin/*`: the admin area (its pages slot into the same shell and
 * its navigation group, layout/nav.tsx, and only admins see them). The server answers index.html for every path under both.
 */
export function createConsoleRouter() {
  return createBrowserRouter([
    { path: '/', element: <Navigate to="/dashboard" replace /> },
    { path: '/dashboard/login', element: standalone(SignIn) },
    { path: '/dashboard/register', element: standalone(SignUp) },
    { path: '/dashboard/reset-password', element: standalone(ResetPassword) },
    {
      path: '/dashboard',
      element: <Shell />,
      children: [
        { index: true, element: <Overview /> },
        { path: 'keys', element: <Keys /> },
        { path: 'usage', element: <Usage /> },
        { path: 'credits', element: <Credits /> },
        { path: 'plans', element: <Plans /> },
        { path: 'account', element: <Account /> },
        ...CHAT_ROUTES,
        ...IMAGES_ROUTES,
        { path: '*', element: <NotFound /> },
      ],
    },
    {
      path: '/admin',
      element: <Shell />,
      children: [
        {
          element: <RequireAdmin />,
          children: [...ADMIN_PEOPLE_ROUTES, ...ADMIN_CATALOG_ROUTES, { path: '*', element: <NotFound /> }],
        },
      ],
    },
    {
      path: '*',
      element: (
        <main>
          <NotFound />
        </main>
      ),
    },
  ]);
}

import { Spin } from 'antd';
import { lazy, Suspense, type ComponentType, type LazyExoticComponent } from 'react';
import { createBrowserRouter, Navigate } from 'react-router-dom';
import { NotFound } from './layout/NotFound.tsx';
import { Shell } from './layout/Shell.tsx';

/** Each page is its own chunk, fetched when first opened (the first page stays small). */
const page = <K extends string>(
  load: () => Promise<Record<K, ComponentType>>,
  name: K,
): LazyExoticComponent<ComponentType> => lazy(() => load().then((module) => ({ default: module[name] })));

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
 * its navigation group, layout/nav.tsx). The server answers index.html for every path under both.
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
        { path: '*', element: <NotFound /> },
      ],
    },
    { path: '/admin', element: <Shell />, children: [{ path: '*', element: <NotFound /> }] },
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

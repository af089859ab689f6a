import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { App as AntApp, ConfigProvider, theme } from 'antd';
import enUS from 'antd/locale/en_US';
import zhCN from 'antd/locale/zh_CN';
import dayjs from 'dayjs';
import 'dayjs/locale/zh-cn';
import { useEffect, useMemo, useState } from 'react';
import { RouterProvider } from 'react-router-dom';
import { onSignedOut } from './api/client.ts';
import { PROFILE_KEY } from './api/session.ts';
import { I18nProvider, setApiLang, useI18n } from './i18n/index.tsx';
import { initialTheme, saveTheme, type ThemeMode } from './prefs.ts';
import { createConsoleRouter } from './routes.tsx';
import { ThemeContext } from './layout/theme-context.ts';

const queryClient = new QueryClient({
  // Each page shows fresh numbers when opened (staleTime 0); a failed read is shown, not retried behind the scenes.
  defaultOptions: { queries: { retry: false, refetchOnWindowFocus: false } },
});
const router = createConsoleRouter();
/** antd's blue one step darker: white text on it, and it as text on white, pass WCAG AA contrast (4.5:1). */
const PRIMARY = '#0958d9';
/**
 * On the dark theme, blue as text (links, the selected menu item) is a lighter blue: the buttons' blue
 * behind white text would be under 4.5:1 on the dark background.
 */
const PRIMARY_TEXT_ON_DARK = '#69b1ff';
/** Visitors who ask their system for less motion get none (antd's transitions off). */
const reducedMotion = window.matchMedia?.('(prefers-reduced-motion: reduce)').matches ?? false;

// A session that ended (signed out elsewhere, disabled, expired): forget what was shown, go to sign-in.
// A visitor who never signed in is sent to sign in by the shell (with the page to come back to) instead.
onSignedOut(() => {
  if (!queryClient.getQueryData(PROFILE_KEY)) return;
  queryClient.clear();
  if (!window.location.pathname.startsWith('/dashboard/login')) {
    void router.navigate('/dashboard/login?ended=1');
  }
});

function Themed() {
  const { lang } = useI18n();
  const [mode, setMode] = useState<ThemeMode>(initialTheme);
  setApiLang(lang);
  dayjs.locale(lang === 'zh-CN' ? 'zh-cn' : 'en');
  useEffect(() => {
    document.documentElement.lang = lang;
  }, [lang]);
  const themeValue = useMemo(
    () => ({
      mode,
      toggle: () =>
        setMode((current) => {
          const next = current === 'dark' ? 'light' : 'dark';
          saveTheme(next);
          return next;
        }),
    }),
    [mode],
  );
  return (
    <ThemeContext.Provider value={themeValue}>
      <ConfigProvider
        locale={lang === 'zh-CN' ? zhCN : enUS}
        // "注册", not "注 册": the space antd puts between two CJK characters changes the button's name.
        button={{ autoInsertSpace: false }}
        theme={{
          algorithm: mode === 'dark' ? theme.darkAlgorithm : theme.defaultAlgorithm,
          token: {
            motion: !reducedMotion,
            colorPrimary: PRIMARY,
            colorInfo: PRIMARY,
            colorLink: PRIMARY,
            // antd's red (#ff4d4f) is 3.9:1 on white: a danger button's text needs the darker one.
            ...(mode === 'dark'
              ? {
                  colorTextPlaceholder: 'rgba(255, 255, 255, 0.6)',
                  colorLink: PRIMARY_TEXT_ON_DARK,
                  colorPrimaryText: PRIMARY_TEXT_ON_DARK,
                }
              : {
                  colorError: '#cf1322',
                  // Green and orange text (tags, amounts) at AA contrast on white and on their pale backgrounds.
                  colorSuccess: '#237804',
                  colorWarning: '#ad4e00',
                  colorTextPlaceholder: 'rgba(0, 0, 0, 0.6)',
                }),
            // Hints and descriptions: antd's 45 % grey is under 4.5:1 on white.
            colorTextTertiary: mode === 'dark' ? 'rgba(255, 255, 255, 0.65)' : 'rgba(0, 0, 0, 0.62)',
          },
          components:
            mode === 'dark'
              ? {
                  Menu: { itemSelectedColor: PRIMARY_TEXT_ON_DARK, itemSelectedBg: '#111d2c' },
                  Tabs: {
                    itemSelectedColor: PRIMARY_TEXT_ON_DARK,
                    itemActiveColor: PRIMARY_TEXT_ON_DARK,
                    inkBarColor: PRIMARY_TEXT_ON_DARK,
                  },
                  // Danger buttons: a light red, as text on the dark background and behind dark text.
                  Button: { colorError: '#ff7875', dangerColor: 'rgba(0, 0, 0, 0.88)' },
                }
              : {},
        }}
      >
        <AntApp>
          <RouterProvider router={router} />
        </AntApp>
      </ConfigProvider>
    </ThemeContext.Provider>
  );
}

export function App() {
  return (
    <QueryClientProvider client={queryClient}>
      <I18nProvider>
        <Themed />
      </I18nProvider>
    </QueryClientProvider>
  );
}

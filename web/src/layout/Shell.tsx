import { LogoutOutlined, MenuOutlined, MoonOutlined, SunOutlined } from '@ant-design/icons';
import { useQueryClient } from '@tanstack/react-query';
import { Button, Grid, Layout, Menu, Select, Space, Spin, Typography, theme } from 'antd';
import { Suspense, useState } from 'react';
import { Navigate, Outlet, useLocation, useNavigate } from 'react-router-dom';
import { ApiError } from '@/api/client.ts';
import { signOut, useProfile } from '@/api/session.ts';
import { useI18n, type Lang } from '@/i18n/index.tsx';
import { ADMIN_NAV, USER_NAV, type NavItem } from './nav.tsx';
import { useThemeMode } from './theme-context.ts';

export function LanguageSelect() {
  const { lang, setLang, t } = useI18n();
  return (
    <Select<Lang>
      aria-label={t('language')}
      value={lang}
      onChange={setLang}
      size="small"
      style={{ width: 96 }}
      options={[
        { value: 'zh-CN', label: '简体中文' },
        { value: 'en', label: 'English' },
      ]}
    />
  );
}

export function ThemeButton() {
  const { t } = useI18n();
  const { mode, toggle } = useThemeMode();
  const label = mode === 'dark' ? t('themeLight') : t('themeDark');
  return (
    <Button
      type="text"
      aria-label={label}
      title={label}
      icon={mode === 'dark' ? <SunOutlined /> : <MoonOutlined />}
      onClick={toggle}
    />
  );
}

/** The signed-in frame: the menu (a drawer-like collapsed bar on a phone), the header, the page. */
export function Shell() {
  const { t } = useI18n();
  const profile = useProfile();
  const location = useLocation();
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const screens = Grid.useBreakpoint();
  const phone = !screens.md;
  const [collapsed, setCollapsed] = useState(true);
  const { token } = theme.useToken();

  if (profile.isPending) return <Spin style={{ display: 'block', margin: '30vh auto' }} />;
  if (profile.error) {
    if (profile.error instanceof ApiError && (profile.error.status === 401 || profile.error.status === 403)) {
      const next = encodeURIComponent(location.pathname + location.search);
      return <Navigate to={`/dashboard/login?next=${next}`} replace />;
    }
    return (
      <Space direction="vertical" style={{ margin: 48 }}>
        <Typography.Text type="danger">{profile.error.message}</Typography.Text>
        <Button onClick={() => void profile.refetch()}>{t('retry')}</Button>
      </Space>
    );
  }

  const groups: NavItem[][] = [USER_NAV, ...(profile.data.role === 'admin' && ADMIN_NAV.length > 0 ? [ADMIN_NAV] : [])];
  const items = groups.flatMap((group, i) => [
    ...(i > 0 ? [{ type: 'divider' as const }] : []),
    ...group.map((item) => ({ key: item.path, icon: item.icon, label: t(item.label) })),
  ]);
  const selected = [...groups.flat()]
    .filter((item) => location.pathname === item.path || location.pathname.startsWith(`${item.path}/`))
    .sort((a, b) => b.path.length - a.path.length)[0]?.path;

  const leave = async () => {
    await signOut();
    queryClient.clear();
    await navigate('/dashboard/login');
  };

  const menu = (
    <Menu
      mode="inline"
      selectedKeys={selected ? [selected] : []}
      items={items}
      onClick={({ key }) => {
        if (phone) setCollapsed(true);
        void navigate(key);
      }}
    />
  );

  return (
    <Layout style={{ minHeight: '100vh' }}>
      <Layout.Sider
        breakpoint="md"
        collapsedWidth={0}
        collapsed={phone ? collapsed : false}
        trigger={null}
        width={208}
        theme="light"
        style={{
          borderInlineEnd: `1px solid ${token.colorBorderSecondary}`,
          // On a phone the menu lies over the page, as tall as the screen; a long one (an admin's) scrolls.
          ...(phone ? { position: 'fixed', zIndex: 20, height: '100vh', overflowY: 'auto' } : {}),
        }}
      >
        <nav aria-label={t('menu')}>
          <div style={{ padding: '16px 24px', fontWeight: 600, fontSize: 18 }}>{t('appName')}</div>
          {menu}
        </nav>
      </Layout.Sider>
      <Layout>
        <Layout.Header
          style={{
            display: 'flex',
            alignItems: 'center',
            gap: 8,
            padding: '0 16px',
            background: token.colorBgContainer,
            borderBottom: `1px solid ${token.colorBorderSecondary}`,
          }}
        >
          {phone && (
            <Button
              type="text"
              aria-label={t('menu')}
              aria-expanded={!collapsed}
              icon={<MenuOutlined />}
              onClick={() => setCollapsed(!collapsed)}
            />
          )}
          <div style={{ flex: 1 }} />
          <LanguageSelect />
          <ThemeButton />
          {!phone && <Typography.Text>{profile.data.username}</Typography.Text>}
          <Button type="text" icon={<LogoutOutlined />} onClick={() => void leave()} aria-label={t('signOut')}>
            {phone ? null : t('signOut')}
          </Button>
        </Layout.Header>
        <Layout.Content style={{ padding: phone ? 12 : 24 }} onClick={() => phone && !collapsed && setCollapsed(true)}>
          <main>
            <Suspense fallback={<Spin style={{ display: 'block', margin: '64px auto' }} />}>
              <Outlet />
            </Suspense>
          </main>
        </Layout.Content>
      </Layout>
    </Layout>
  );
}

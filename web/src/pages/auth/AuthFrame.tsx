import { Card, Flex, Space, Typography } from 'antd';
import type { ReactNode } from 'react';
import { LanguageSelect, ThemeButton } from '@/layout/Shell.tsx';
import { useI18n } from '@/i18n/index.tsx';

/** The signed-out pages' frame: one card in the middle, the language and theme switches above it. */
export function AuthFrame({ title, children }: { title: string; children: ReactNode }) {
  const { t } = useI18n();
  return (
    <Flex vertical align="center" style={{ minHeight: '100vh', padding: '24px 12px' }}>
      <Space style={{ alignSelf: 'flex-end' }}>
        <LanguageSelect />
        <ThemeButton />
      </Space>
      <main style={{ width: '100%', maxWidth: 400, marginTop: '8vh' }}>
        <Typography.Title level={1} style={{ textAlign: 'center', fontSize: 28 }}>
          {t('appName')}
        </Typography.Title>
        <Card title={<h2 style={{ margin: 0, fontSize: 18 }}>{title}</h2>}>{children}</Card>
      </main>
    </Flex>
  );
}

import { Space, Tag, Typography } from 'antd';
import type { Channel, ChannelTest } from '@/api/admin-catalog.ts';
import { useI18n } from '@/i18n/index.tsx';

/** A channel's health as the API reports it: failures in a row, taken out of rotation, the last error. */
export function ChannelHealth({ channel }: { channel: Channel }) {
  const { t } = useI18n();
  return (
    <Space direction="vertical" size={0} style={{ maxWidth: 260 }}>
      {channel.autoDisabled ? (
        <Tag color="error">{t('acAutoDisabled')}</Tag>
      ) : channel.consecutiveFailures > 0 ? (
        <Tag color="warning">{t('acFailures', { n: channel.consecutiveFailures })}</Tag>
      ) : (
        <Tag color="success">{t('acHealthy')}</Tag>
      )}
      {channel.lastError && (
        <Typography.Text type="secondary" ellipsis={{ tooltip: channel.lastError }}>
          {t('acLastError')}: {channel.lastError}
        </Typography.Text>
      )}
    </Space>
  );
}

/** What a test call answered, and how long it took. */
export function TestOutcome({ result }: { result: ChannelTest }) {
  const { t } = useI18n();
  const status = result.status === null ? '' : ` · HTTP ${result.status}`;
  return (
    <Typography.Text type={result.ok ? 'success' : 'danger'} role="status">
      {result.ok ? t('acTestOk', { ms: result.latencyMs }) : t('acTestFailed', { ms: result.latencyMs })}
      {status}
      {result.error ? ` · ${result.error}` : ''}
    </Typography.Text>
  );
}

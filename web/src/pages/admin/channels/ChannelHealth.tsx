import { Badge, Space, Typography } from 'antd';
import type { Channel, ChannelTest } from '@/api/admin-catalog.ts';
import { useI18n } from '@/i18n/index.tsx';

/** A channel's health as the API reports it: failures in a row, taken out of rotation, the last error. */
export function ChannelHealth({ channel }: { channel: Channel }) {
  const { t } = useI18n();
  return (
    <Space direction="vertical" size={0} style={{ maxWidth: 260 }}>
      {channel.autoDisabled ? (
        <Badge status="error" text={t('acAutoDisabled')} />
      ) : channel.consecutiveFailures > 0 ? (
        <Badge status="warning" text={t('acFailures', { n: channel.consecutiveFailures })} />
      ) : (
        <Badge status="success" text={t('acHealthy')} />
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
    <span role="status">
      <Badge
        status={result.ok ? 'success' : 'error'}
        text={`${result.ok ? t('acTestOk', { ms: result.latencyMs }) : t('acTestFailed', { ms: result.latencyMs })}${status}${result.error ? ` · ${result.error}` : ''}`}
      />
    </span>
  );
}

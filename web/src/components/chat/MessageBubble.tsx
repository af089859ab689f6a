import { Alert, Flex, Spin, theme, Typography } from 'antd';
import type { ReactNode } from 'react';
import { Link } from 'react-router-dom';
import { useI18n } from '@/i18n/index.tsx';
import { MessageText } from './MessageText.tsx';
import type { ChatMessage } from './types.ts';

/** Where a 402 sends the user: more credits, or a plan. */
function NoCreditsHelp() {
  const { t } = useI18n();
  return (
    <span>
      {t('chatNoCredits')} <Link to="/dashboard/credits">{t('chatGetCredits')}</Link> ·{' '}
      <Link to="/dashboard/plans">{t('chatSeePlans')}</Link>
    </span>
  );
}

/** One message: the user's on the right, the answer on the left, with its state and the page's footer. */
export function MessageBubble<M>({ message, footer }: { message: ChatMessage<M>; footer?: ReactNode }) {
  const { t } = useI18n();
  const { token } = theme.useToken();
  const mine = message.role === 'user';
  const error = message.error;
  return (
    <Flex vertical align={mine ? 'flex-end' : 'flex-start'} style={{ marginBottom: 12 }}>
      <Typography.Text type="secondary" style={{ fontSize: 12 }}>
        {mine ? t('chatYou') : t('chatAssistant')}
      </Typography.Text>
      <div
        style={{
          maxWidth: 'min(100%, 720px)',
          minWidth: 0,
          padding: '8px 12px',
          borderRadius: token.borderRadiusLG,
          background: mine ? token.colorPrimaryBg : token.colorFillTertiary,
          color: token.colorText,
        }}
      >
        <MessageText text={message.content} />
        {message.streaming && !message.content && <Spin size="small" aria-label={t('chatThinking')} />}
        {message.stopped && (
          <Typography.Text type="secondary" style={{ display: 'block', fontSize: 12 }}>
            {t('chatStopped')}
          </Typography.Text>
        )}
        {error && (
          <Alert
            type="error"
            showIcon
            style={{ marginTop: message.content ? 8 : 0 }}
            title={error.message}
            description={error.status === 402 ? <NoCreditsHelp /> : undefined}
          />
        )}
      </div>
      {footer}
    </Flex>
  );
}

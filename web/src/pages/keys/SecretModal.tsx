import { Alert, Modal, Typography } from 'antd';
import { useI18n } from '@/i18n/index.tsx';

/** The new key's secret, shown this once (the server keeps only its hash). */
export function SecretModal({ secret, onClose }: { secret: string | undefined; onClose: () => void }) {
  const { t } = useI18n();
  return (
    <Modal
      open={secret !== undefined}
      title={t('secretTitle')}
      onOk={onClose}
      onCancel={onClose}
      okText={t('close')}
      cancelButtonProps={{ style: { display: 'none' } }}
    >
      <Alert type="warning" showIcon title={t('secretOnce')} style={{ marginBottom: 12 }} />
      <Typography.Paragraph
        code
        copyable={{ text: secret, tooltips: [t('copy'), t('copied')] }}
        data-testid="new-key-secret"
        style={{ wordBreak: 'break-all' }}
      >
        {secret}
      </Typography.Paragraph>
    </Modal>
  );
}

import { Alert } from 'antd';
import { ApiError } from '@/api/client.ts';
import { useI18n } from '@/i18n/index.tsx';

/** Why a job was not started: image generation not set up (503), too few credits (402), or the API's own reason. */
export function SubmitError({ error }: { error: Error }) {
  const { t } = useI18n();
  const code = error instanceof ApiError ? error.code : undefined;
  const status = error instanceof ApiError ? error.status : 0;
  const title =
    code === 'IMAGE_JOBS_NOT_CONFIGURED'
      ? t('imgNotConfigured')
      : status === 402
        ? t('imgNotEnoughCredits')
        : t('imgRefused');
  return (
    <Alert role="alert" type="error" showIcon title={title} description={error.message} style={{ marginBottom: 12 }} />
  );
}

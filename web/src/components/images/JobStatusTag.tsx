import { Badge, type BadgeProps } from 'antd';
import type { JobStatus } from '@/api/images.ts';
import { useI18n } from '@/i18n/index.tsx';

const BADGES: Record<JobStatus, BadgeProps['status']> = {
  queued: 'default',
  running: 'processing',
  succeeded: 'success',
  failed: 'error',
  canceled: 'warning',
};

/** A job's status in words beside a coloured dot (the words in the text colour, whatever the theme). */
export function JobStatusTag({ status }: { status: JobStatus }) {
  const { t } = useI18n();
  return <Badge status={BADGES[status]} text={t(`imgStatus_${status}`)} />;
}

import { Tag } from 'antd';
import type { JobStatus } from '@/api/images.ts';
import { useI18n } from '@/i18n/index.tsx';

const COLORS: Record<JobStatus, string> = {
  queued: 'default',
  running: 'processing',
  succeeded: 'success',
  failed: 'error',
  canceled: 'warning',
};

/** A job's status in words, coloured by antd's status presets (they follow the theme). */
export function JobStatusTag({ status }: { status: JobStatus }) {
  const { t } = useI18n();
  return <Tag color={COLORS[status]}>{t(`imgStatus_${status}`)}</Tag>;
}

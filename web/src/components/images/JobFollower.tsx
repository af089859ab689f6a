import { Alert, App, Button, Card, Flex, Steps, Typography } from 'antd';
import { useEffect, useRef, useState, type ReactNode } from 'react';
import { isOpen, type Job, type JobImage } from '@/api/images.ts';
import { number } from '@/format.ts';
import { useI18n } from '@/i18n/index.tsx';
import { JobStatusTag } from './JobStatusTag.tsx';
import { ResultGrid } from './ResultGrid.tsx';

export interface JobFollowerProps {
  job: Job;
  /** Reads the job again (our server asks the job API). */
  fetchJob: (id: string) => Promise<Job>;
  cancelJob: (id: string) => Promise<Job>;
  /** Called once the job is over and its money settled (`creditsCharged` is a number). */
  onSettled?: (job: Job) => void;
  /** What each result image offers (publish, favorite). */
  imageActions?: (image: JobImage, job: Job) => ReactNode;
  intervalMs?: number;
}

/** Over and settled: nothing more will change. */
const isFinal = (job: Job) => !isOpen(job.status) && job.creditsCharged !== null;

/**
 * Follows a submitted job on our server every couple of seconds — queued, running, then its images, its
 * error or its cancellation — until its money is settled; Cancel while it is open.
 */
export function JobFollower({
  job,
  fetchJob,
  cancelJob,
  onSettled,
  imageActions,
  intervalMs = 2000,
}: JobFollowerProps) {
  const { t } = useI18n();
  const { message } = App.useApp();
  const [current, setCurrent] = useState(job);
  const [canceling, setCanceling] = useState(false);
  // Bumped by a cancel: a look sent before it answers an older state and is dropped.
  const generation = useRef(0);
  const onSettledRef = useRef(onSettled);
  onSettledRef.current = onSettled;
  const final = isFinal(current);

  useEffect(() => setCurrent(job), [job]);

  useEffect(() => {
    if (final) {
      onSettledRef.current?.(current);
      return;
    }
    let stopped = false;
    const sentIn = generation.current;
    const timer = setTimeout(() => {
      const stale = () => stopped || sentIn !== generation.current;
      fetchJob(current.id)
        .then((next) => !stale() && setCurrent(next))
        // A failed look (network, a restart) is not an answer: look again.
        .catch(() => !stale() && setCurrent((c) => ({ ...c })));
    }, intervalMs);
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [current, final, fetchJob, intervalMs]);

  const cancel = async () => {
    setCanceling(true);
    try {
      const canceled = await cancelJob(current.id);
      generation.current += 1;
      setCurrent(canceled);
    } catch (error) {
      void message.error((error as Error).message);
    } finally {
      setCanceling(false);
    }
  };

  const step = current.status === 'queued' ? 0 : current.status === 'running' ? 1 : 2;
  const stepStatus = current.status === 'failed' ? 'error' : isOpen(current.status) ? 'process' : 'finish';
  return (
    <Card
      title={
        <Flex gap={8} align="center" wrap>
          {t('imgJob')} <JobStatusTag status={current.status} />
        </Flex>
      }
      extra={
        isOpen(current.status) && (
          <Button danger onClick={() => void cancel()} loading={canceling}>
            {t('imgCancelJob')}
          </Button>
        )
      }
    >
      <Steps
        size="small"
        current={step}
        status={stepStatus}
        items={[{ title: t('imgStepQueued') }, { title: t('imgStepRunning') }, { title: t('imgStepDone') }]}
      />
      <Flex vertical gap={12} style={{ marginTop: 16 }}>
        <Typography.Text role="status">{statusLine(current, t)}</Typography.Text>
        <Typography.Text type="secondary">
          {t('imgJobSummary', { count: current.count, mode: current.mode, resolution: current.resolution })}
        </Typography.Text>
        {current.status === 'failed' && current.error && (
          <Alert role="alert" type="error" showIcon title={current.error.message} />
        )}
        {current.status === 'succeeded' && (
          <ResultGrid images={current.images} actions={imageActions && ((image) => imageActions(image, current))} />
        )}
        {current.status === 'succeeded' && current.images.length < current.count && (
          <Typography.Text type="secondary">
            {t('imgFewerImages', { made: current.images.length, count: current.count })}
          </Typography.Text>
        )}
      </Flex>
    </Card>
  );
}

function statusLine(job: Job, t: ReturnType<typeof useI18n>['t']): string {
  const held = number(job.creditsHeld);
  if (isOpen(job.status)) return t(job.status === 'queued' ? 'imgQueuedHeld' : 'imgRunningHeld', { held });
  if (job.creditsCharged === null) return t('imgSettling');
  if (job.status === 'succeeded') return t('imgCharged', { charged: number(job.creditsCharged), held });
  return t(job.status === 'failed' ? 'imgFailedNothing' : 'imgCanceledNothing', {
    charged: number(job.creditsCharged),
    held,
  });
}

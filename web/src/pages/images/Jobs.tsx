import { Image, Select, Space, Typography } from 'antd';
import { useState } from 'react';
import { JOB_STATUSES, readDreamPage, type Job, type JobStatus } from '@/api/images.ts';
import { usePaged } from '@/api/paged.ts';
import { JobStatusTag } from '@/components/images/JobStatusTag.tsx';
import { ScrollTable } from '@/components/ScrollTable.tsx';
import { dateTime, number } from '@/format.ts';
import { useI18n } from '@/i18n/index.tsx';
import { PageTitle } from '@/pages/PageTitle.tsx';

/** My image jobs, newest first, filtered by status: what each asked, made and cost. */
export function JobsPage() {
  const { t } = useI18n();
  const [status, setStatus] = useState<JobStatus>();
  const jobs = usePaged<Job>(['jobs'], '/v1/proxy/jobs', { status }, 10, readDreamPage);

  return (
    <>
      <PageTitle
        extra={
          <Select<JobStatus>
            allowClear
            aria-label={t('imgFilterStatus')}
            placeholder={t('imgAllStatuses')}
            style={{ minWidth: 160 }}
            value={status}
            onChange={(value) => {
              setStatus(value);
              jobs.firstPage();
            }}
            options={JOB_STATUSES.map((s) => ({ value: s, label: t(`imgStatus_${s}`) }))}
          />
        }
      >
        {t('imgJobs')}
      </PageTitle>
      <ScrollTable<Job>
        label={t('imgJobs')}
        rowKey="id"
        loading={jobs.isPending}
        dataSource={jobs.data?.items}
        pagination={jobs.pagination}
        minWidth={1040}
        columns={[
          { title: t('imgCreatedAt'), dataIndex: 'createdAt', width: 150, render: (v: string) => dateTime(v) },
          {
            title: t('imgPrompt'),
            dataIndex: 'prompt',
            render: (v: string) => (
              <Typography.Paragraph ellipsis={{ rows: 2, tooltip: v }} style={{ margin: 0, maxWidth: 260 }}>
                {v}
              </Typography.Paragraph>
            ),
          },
          {
            title: t('imgSettings'),
            width: 190,
            render: (_, job) => `${job.mode} · ${job.resolution} · ×${job.count}`,
          },
          { title: t('status'), dataIndex: 'status', width: 130, render: (_, job) => <JobCell job={job} /> },
          { title: t('imgHeld'), dataIndex: 'creditsHeld', width: 90, render: (v: number) => number(v) },
          {
            title: t('imgChargedCol'),
            dataIndex: 'creditsCharged',
            width: 90,
            render: (v: number | null) => (v === null ? t('imgNotSettled') : number(v)),
          },
          {
            title: t('imgImages'),
            width: 230,
            render: (_, job) =>
              job.images.length === 0 ? (
                '—'
              ) : (
                <Image.PreviewGroup>
                  <Space wrap size={4}>
                    {job.images.map((image, i) => (
                      <Image
                        key={image.id}
                        src={image.url}
                        width={64}
                        height={64}
                        style={{ objectFit: 'cover' }}
                        alt={t('imgResultAlt', { n: i + 1 })}
                      />
                    ))}
                  </Space>
                </Image.PreviewGroup>
              ),
          },
        ]}
      />
    </>
  );
}

function JobCell({ job }: { job: Job }) {
  return (
    <Space direction="vertical" size={2}>
      <JobStatusTag status={job.status} />
      {job.error && <Typography.Text type="danger">{job.error.message}</Typography.Text>}
    </Space>
  );
}

import { render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { App } from 'antd';
import { describe, expect, it, vi } from 'vitest';
import type { Job } from '@/api/images.ts';
import { I18nProvider } from '@/i18n/index.tsx';
import { JobFollower } from './JobFollower.tsx';

const JOB: Job = {
  id: 'job-1',
  status: 'queued',
  prompt: 'a cat on a roof',
  negativePrompt: null,
  mode: 'standard',
  resolution: '1024x1024',
  count: 2,
  params: {},
  characterId: null,
  promptTemplateId: null,
  paramTemplateId: null,
  images: [],
  creditsHeld: 80,
  creditsCharged: null,
  error: null,
  createdAt: '2026-12-07T10:00:00.000Z',
  updatedAt: '2026-12-07T10:00:00.000Z',
  finishedAt: null,
};

const IMAGES = [
  { id: 'up-1', url: '/uploads/jobs/2026/12/a.png', width: 1024, height: 1024 },
  { id: 'up-2', url: '/uploads/jobs/2026/12/b.png', width: 1024, height: 1024 },
];

/** The job as the server reports it, one state per look (the last repeats). */
function server(...states: (Partial<Job> | Error)[]) {
  let looks = 0;
  return vi.fn((id: string) => {
    const state = states[Math.min(looks++, states.length - 1)]!;
    if (state instanceof Error) return Promise.reject(state);
    return Promise.resolve({ ...JOB, id, ...state });
  });
}

function follow(fetchJob: (id: string) => Promise<Job>, extra: Partial<Parameters<typeof JobFollower>[0]> = {}) {
  const props = { job: JOB, fetchJob, cancelJob: vi.fn(), intervalMs: 5, ...extra };
  return render(
    <I18nProvider lang="en">
      <App>
        <JobFollower {...props} />
      </App>
    </I18nProvider>,
  );
}

const status = () => screen.getByRole('status').textContent;

describe('JobFollower', () => {
  it('follows a job from queued through running to done, then shows its images and what was charged', async () => {
    const fetchJob = server(
      { status: 'running' },
      { status: 'running' },
      { status: 'succeeded', images: IMAGES, creditsCharged: 80, finishedAt: '2026-12-07T10:00:09.000Z' },
    );
    const onSettled = vi.fn();
    follow(fetchJob, { onSettled });
    expect(status()).toBe('Waiting to start. 80 credits are held.');
    expect(screen.getByRole('button', { name: 'Cancel job' })).toBeTruthy();

    await screen.findByText('Generating… 80 credits are held.');
    expect(screen.getByText('Running')).toBeTruthy();

    await screen.findByText('Done: 80 credits charged (of 80 held).');
    const images = screen.getAllByRole('img', { name: /^Result image \d$/ });
    expect(images.map((img) => img.getAttribute('src'))).toEqual(IMAGES.map((i) => i.url));
    expect(screen.getAllByRole('link', { name: /^Open full size/ })[0]!.getAttribute('href')).toBe(IMAGES[0]!.url);
    expect(screen.queryByRole('button', { name: 'Cancel job' })).toBeNull();
    expect(onSettled).toHaveBeenCalledTimes(1);
    expect(onSettled.mock.calls[0]![0]).toMatchObject({ status: 'succeeded', creditsCharged: 80 });
    // Settled is final: no more looks.
    const looks = fetchJob.mock.calls.length;
    await new Promise((resolve) => setTimeout(resolve, 40));
    expect(fetchJob.mock.calls.length).toBe(looks);
  });

  it('a failed job shows its message and that nothing was charged', async () => {
    const fetchJob = server(new Error('network down'), {
      status: 'failed',
      creditsCharged: 0,
      error: { code: 'IMAGE_JOB_FAILED', message: 'The upstream could not draw this' },
    });
    follow(fetchJob);
    expect((await screen.findByRole('alert')).textContent).toContain('The upstream could not draw this');
    expect(status()).toBe('The job failed: nothing was charged (0 credits); the 80 held credits were released.');
    expect(screen.queryByRole('img', { name: /Result image/ })).toBeNull();
    expect(fetchJob).toHaveBeenCalledTimes(2);
  });

  it('Cancel asks the server to cancel and shows the job cancelled with nothing charged', async () => {
    const user = userEvent.setup();
    const fetchJob = server({ status: 'running' });
    const cancelJob = vi.fn((id: string) =>
      Promise.resolve({ ...JOB, id, status: 'canceled' as const, creditsCharged: 0 }),
    );
    follow(fetchJob, { cancelJob, intervalMs: 20 });
    await screen.findByText('Generating… 80 credits are held.');
    await user.click(screen.getByRole('button', { name: 'Cancel job' }));
    await screen.findByText('Cancelled: nothing was charged (0 credits); the 80 held credits were released.');
    expect(cancelJob).toHaveBeenCalledWith('job-1');
    expect(screen.queryByRole('button', { name: 'Cancel job' })).toBeNull();
  });

  it('a refused cancel (the job finished meanwhile) shows the reason and keeps following', async () => {
    const user = userEvent.setup();
    const fetchJob = server(
      { status: 'running' },
      { status: 'running' },
      { status: 'succeeded', images: IMAGES, creditsCharged: 80 },
    );
    const cancelJob = vi.fn(() => Promise.reject(new Error('The job has already finished')));
    follow(fetchJob, { cancelJob, intervalMs: 30 });
    await screen.findByText('Generating… 80 credits are held.');
    await user.click(screen.getByRole('button', { name: 'Cancel job' }));
    await screen.findByText('The job has already finished');
    await screen.findByText('Done: 80 credits charged (of 80 held).');
  });
});

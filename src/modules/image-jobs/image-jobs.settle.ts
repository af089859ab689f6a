import type { FastifyBaseLogger } from 'fastify';
import type { Clock } from '#core/clock.ts';
import { newId } from '#core/ids.ts';
import { sleep } from '#core/retry.ts';
import type { BillingDeps } from '#modules/metering/bill.ts';
import { cancelJob, settleJob, type HeldJob } from '#modules/metering/jobs.ts';
import type { RateLimiter } from '#modules/ratelimit/rate-limiter.ts';
import type { JobImage, JobImageCopier } from './image-copy.ts';
import type { ImageJobsRepository, JobOutcome } from './image-jobs.repository.ts';
import type { ImageJobRow } from './image-jobs.tables.ts';
import { JobApiUnavailable, type ImageJobApi } from './job-api.ts';

export interface JobSettlerOptions {
  pollIntervalMs: number;
  /** How long a claim on a job lasts: past one poll and one copy of its images. */
  leaseMs: number;
  /** A job the upstream never confirmed (its instance died while sending it) is given up after this. */
  submitGraceMs: number;
  batch?: number;
}

export interface JobSettlerDeps {
  repo: ImageJobsRepository;
  /** The job APIs by name (job-api.ts); a job whose API is no longer configured ends at its deadline. */
  apis: ReadonlyMap<string, ImageJobApi>;
  billing: BillingDeps;
  limiter: RateLimiter;
  copier: JobImageCopier;
  clock: Clock;
  logger: FastifyBaseLogger;
}

/**
 * Moves open jobs on and settles each exactly once (docs/image-jobs.md): a job is claimed by a
 * conditional update of its lease, so one instance at a time looks at it; the end is written once under
 * the lease (`finish`), then the money is closed (idempotent: the hold closes once, its usage record is
 * named by the hold), then `settled_at` is set once, and the one write that set it corrects the plan's
 * allowance counters. An instance that dies anywhere in between leaves a lease that ends by itself: the
 * next claimer picks the job up where it stood.
 */
export class JobSettler {
  readonly owner = newId();

  constructor(
    private readonly deps: JobSettlerDeps,
    private readonly options: JobSettlerOptions,
  ) {}

  /** One pass of the poller: every due job nobody holds. Answers the jobs settled. */
  async run(): Promise<number> {
    let settled = 0;
    const now = this.deps.clock.now();
    for (const id of await this.deps.repo.due(now, this.options.batch ?? 50)) {
      if (!(await this.deps.repo.claim(id, this.owner, now, now + this.options.leaseMs))) continue;
      if (await this.advanceClaimed(id)) settled += 1;
    }
    return settled;
  }

  /** A client asks about its job: it is looked at now when nobody else is (an answer never waits for a poll). */
  async refresh(id: string): Promise<void> {
    const now = this.deps.clock.now();
    if (await this.deps.repo.claim(id, this.owner, now, now + this.options.leaseMs)) await this.advanceClaimed(id);
  }

  /**
   * The job's user cancels it: the upstream is told (when it can be), the job ends `canceled` and its
   * hold is released. False when the job is held by another instance right now (the caller answers busy).
   */
  async cancel(row: ImageJobRow): Promise<boolean> {
    // A poller's look takes a moment: it is waited for, briefly, before the caller is told to try again.
    let claimed = false;
    for (let attempt = 0; attempt < 5 && !claimed; attempt += 1) {
      if (attempt > 0) await sleep(100);
      const now = this.deps.clock.now();
      claimed = await this.deps.repo.claim(row.id, this.owner, now, now + this.options.leaseMs);
    }
    if (!claimed) return false;
    await this.tellUpstreamToStop(row);
    const outcome: JobOutcome = {
      status: 'canceled',
      images: null,
      error_code: null,
      error_message: 'canceled by the user',
    };
    await this.end(row.id, outcome);
    return true;
  }

  /**
   * A job the upstream did not accept ends `failed` and its hold is released now. Should another
   * instance hold it meanwhile, the poller gives it up later (it has no upstream id).
   */
  async abandon(id: string, code: string, message: string): Promise<void> {
    const now = this.deps.clock.now();
    if (await this.deps.repo.claim(id, this.owner, now, now + this.options.leaseMs))
      await this.end(id, failed(code, message));
  }

  /** Looks at a claimed job; true when it was settled by this call. Never throws: a failure is logged, the lease given back. */
  private async advanceClaimed(id: string): Promise<boolean> {
    try {
      const row = await this.deps.repo.find(id);
      if (!row) return false;
      if (row.finished_at !== null) return await this.settle(row);
      return await this.poll(row);
    } catch (error) {
      this.deps.logger.error({ err: error, jobId: id }, 'image job: could not be looked at; it is tried again');
      await this.deps.repo
        .release(id, this.owner, this.deps.clock.now() + this.options.pollIntervalMs)
        .catch(() => undefined);
      return false;
    }
  }

  private async poll(row: ImageJobRow): Promise<boolean> {
    const now = this.deps.clock.now();
    const api = this.deps.apis.get(row.adapter);
    const later = () => this.deps.repo.release(row.id, this.owner, now + this.options.pollIntervalMs).then(() => false);
    if (now >= row.deadline_at) {
      await this.tellUpstreamToStop(row);
      return this.end(row.id, failed('IMAGE_JOB_TIMEOUT', 'the job did not finish in time'));
    }
    if (row.upstream_id === null) {
      // Written, then its instance stopped before the upstream's answer was kept: lost, unless still being sent.
      if (now < row.created_at + this.options.submitGraceMs) return later();
      return this.end(row.id, failed('IMAGE_JOB_LOST', 'the job was never confirmed by the upstream'));
    }
    if (!api) return later();
    let answer;
    try {
      answer = await api.status(row.upstream_id);
    } catch (error) {
      if (!(error instanceof JobApiUnavailable)) throw error;
      this.deps.logger.warn({ err: error, jobId: row.id }, 'image job: the job API is unavailable; asked again later');
      return later();
    }
    if (answer.kind === 'lost') {
      this.deps.logger.warn({ jobId: row.id, upstreamId: row.upstream_id }, 'image job: the upstream lost the job');
      return this.end(row.id, failed('IMAGE_JOB_LOST', 'the upstream no longer knows the job'));
    }
    if (answer.kind === 'garbage') {
      this.deps.logger.warn(
        { jobId: row.id, upstreamId: row.upstream_id, detail: answer.detail },
        'image job: the job API answered something that is not a job; the job is given up',
      );
      return this.end(row.id, failed('IMAGE_JOB_UPSTREAM_INVALID', 'the upstream answered something unreadable'));
    }
    const { state, imageUrls, error } = answer;
    if (state === 'queued' || state === 'running') {
      if (state !== row.status) await this.deps.repo.update(row.id, this.owner, { status: state, updated_at: now });
      return later();
    }
    if (state === 'failed') return this.end(row.id, failed('IMAGE_JOB_FAILED', error ?? 'the upstream failed the job'));
    if (state === 'canceled')
      return this.end(row.id, failed('IMAGE_JOB_CANCELED_UPSTREAM', error ?? 'canceled upstream', 'canceled'));
    // Succeeded: what it made (never more than was asked and held for) is copied before anything is charged.
    const images = await this.deps.copier.copyAll(row.user_id, row.id, imageUrls.slice(0, Number(row.image_count)));
    if (images.length === 0) {
      this.deps.logger.warn(
        { jobId: row.id, offered: imageUrls.length },
        'image job: succeeded without a usable image',
      );
      return this.end(row.id, failed('IMAGE_JOB_NO_IMAGES', 'the upstream delivered no usable image'));
    }
    return this.end(row.id, {
      status: 'succeeded',
      images: JSON.stringify(images),
      error_code: null,
      error_message: null,
    });
  }

  /** Writes the end under the lease, then settles from what is written (another writer's end, if it won). */
  private async end(id: string, outcome: JobOutcome): Promise<boolean> {
    await this.deps.repo.finish(id, this.owner, outcome, this.deps.clock.now());
    const row = await this.deps.repo.find(id);
    if (!row || row.finished_at === null) return false;
    return this.settle(row);
  }

  /** Closes the job's money from its written end; true for the call that recorded it settled. */
  private async settle(row: ImageJobRow): Promise<boolean> {
    const held = JSON.parse(row.held) as HeldJob;
    const images = row.images ? (JSON.parse(row.images) as JobImage[]) : [];
    let charged = 0;
    if (row.status === 'succeeded' && images.length > 0) {
      charged = await settleJob(
        this.deps.billing,
        held,
        { inputTokens: 0, outputTokens: 0, images: images.length },
        'upstream',
        {
          channelId: null,
          httpStatus: 200,
          endReason: images.length < Number(row.image_count) ? 'fewer_images' : 'succeeded',
        },
      );
    } else {
      await cancelJob(this.deps.billing, held, {
        channelId: null,
        httpStatus: 200,
        endReason: (row.error_code ?? row.status).toLowerCase(),
        error: row.error_message ?? undefined,
      });
    }
    const made = row.status === 'succeeded' ? images.length : 0;
    const won = await this.deps.repo.markSettled(row.id, charged, made, this.deps.clock.now());
    if (won && held.allowances)
      await this.deps.limiter.correctAllowances(held.allowances, { credits: charged, images: images.length });
    return won;
  }

  /** Best effort: a job the upstream cannot be told about stops costing anything here all the same. */
  private async tellUpstreamToStop(row: ImageJobRow): Promise<void> {
    const api = this.deps.apis.get(row.adapter);
    if (!api || row.upstream_id === null) return;
    try {
      await api.cancel(row.upstream_id);
    } catch (error) {
      this.deps.logger.warn({ err: error, jobId: row.id }, 'image job: the upstream could not be told to stop');
    }
  }
}

function failed(code: string, message: string, status: 'failed' | 'canceled' = 'failed'): JobOutcome {
  return { status, images: null, error_code: code, error_message: message.slice(0, 500) };
}

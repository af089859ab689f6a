import type { FastifyBaseLogger } from 'fastify';
import type { Clock } from '#core/clock.ts';
import { AppError } from '#core/errors.ts';
import { keysetPage } from '#core/http/pagination.ts';
import { newId } from '#core/ids.ts';
import type { CharactersService } from '#modules/characters/characters.service.ts';
import type { ResolvedKey } from '#modules/keys/keys.service.ts';
import type { AdmissionDeps } from '#modules/metering/admission.ts';
import { cancelJob, holdJob, type HeldJob } from '#modules/metering/jobs.ts';
import type { PricingService } from '#modules/pricing/pricing.service.ts';
import type { TemplatesService } from '#modules/templates/templates.service.ts';
import type { Role } from '#modules/users/users.tables.ts';
import type { JobImage } from './image-copy.ts';
import { jobPrice } from './image-jobs.pricing.ts';
import type { ImageJobsRepository } from './image-jobs.repository.ts';
import { resolveRequest } from './image-jobs.request.ts';
import type { Generate, JobView } from './image-jobs.schemas.ts';
import type { JobSettler } from './image-jobs.settle.ts';
import { isFinal, type ImageJobRow, type JobStatus } from './image-jobs.tables.ts';
import { JobApiUnavailable, type ImageJobApi } from './job-api.ts';

/** What a job would hold (GET /v1/proxy/images/price). */
export interface JobQuote {
  model: string;
  mode: string;
  resolution: string;
  count: number;
  credits: number;
}

/** Who submits a job, as the route resolved them. */
export interface JobCaller {
  requestId: string;
  userId: string;
  role: Role;
  key: ResolvedKey | null;
  /** Where Tollgate is reached (scheme://host): a character photo stored under a relative URL is sent upstream absolute. */
  origin: string;
}

export interface ImageJobsDeps {
  repo: ImageJobsRepository;
  /** The API new jobs go to; null when THIRD_PARTY_API_BASE_URL/KEY are not set (503, nothing held). */
  api: ImageJobApi | null;
  settler: JobSettler;
  admission: AdmissionDeps;
  pricing: PricingService;
  templates: TemplatesService;
  characters: CharactersService;
  clock: Clock;
  logger: FastifyBaseLogger;
}

export interface ImageJobsOptions {
  creditsPerUsd: number;
  timeoutMs: number;
  pollIntervalMs: number;
}

/**
 * Paid image-generation jobs (seed 003's API proxy; docs/image-jobs.md): a job is priced, held and
 * written before it is sent upstream, then moved on and settled exactly once by JobSettler — from a
 * client's question, the poller of any instance, after a restart too.
 */
export class ImageJobsService {
  constructor(
    private readonly deps: ImageJobsDeps,
    private readonly options: ImageJobsOptions,
  ) {}

  async submit(caller: JobCaller, body: Generate, reply: { headers(values: Record<string, string>): unknown }) {
    const api = this.deps.api;
    if (!api) throw new AppError('IMAGE_JOBS_NOT_CONFIGURED');
    const request = await resolveRequest(this.deps, caller.userId, caller.origin, body);
    const { prompt, negativePrompt, mode, resolution, count, params } = request;

    const now = this.deps.clock.now();
    const { model, price } = jobPrice(this.deps.pricing, this.options.creditsPerUsd, mode, resolution);
    const context = {
      requestId: caller.requestId,
      userId: caller.userId,
      keyId: caller.key?.keyId ?? null,
      role: caller.role,
      endpoint: 'images.jobs',
      model,
      stream: false,
      startedAt: performance.now(),
    };
    // Held until well past the job's own deadline: the sweeper frees it only when no instance ever settles it.
    const holdMs = this.options.timeoutMs + Math.max(10 * 60_000, 10 * this.options.pollIntervalMs);
    const held = await holdJob(
      this.deps.admission,
      {
        context,
        key: caller.key,
        price,
        worstCase: { inputTokens: 0, outputTokens: 0, images: count },
        expectedTokens: 0,
        overrun: 'capped',
      },
      holdMs,
      reply,
    );
    const row: ImageJobRow = {
      id: newId(now),
      user_id: caller.userId,
      key_id: caller.key?.keyId ?? null,
      request_id: caller.requestId.slice(0, 64),
      adapter: api.name,
      upstream_id: null,
      status: 'queued',
      prompt,
      negative_prompt: negativePrompt,
      mode,
      resolution,
      image_count: count,
      params: JSON.stringify(params),
      character_id: body.characterId ?? null,
      prompt_template_id: body.promptTemplateId ?? null,
      param_template_id: body.paramTemplateId ?? null,
      price_model: model,
      credits_held: held.hold?.amount ?? 0,
      credits_charged: null,
      images_made: 0,
      held: JSON.stringify(held),
      images: null,
      error_code: null,
      error_message: null,
      created_at: now,
      updated_at: now,
      deadline_at: now + this.options.timeoutMs,
      finished_at: null,
      settled_at: null,
      next_poll_at: now + this.options.pollIntervalMs,
      lease_owner: null,
      lease_until: null,
    };
    try {
      await this.deps.repo.insert(row);
    } catch (error) {
      await this.release(held, 'not_recorded');
      throw error;
    }
    // Counted once the job is written (a job that was never written is no use of a template).
    const { templates } = this.deps;
    await Promise.all([
      request.promptTemplateId && templates.recordUse('prompt', request.promptTemplateId).catch(() => undefined),
      request.paramTemplateId && templates.recordUse('param', request.paramTemplateId).catch(() => undefined),
    ]);
    let outcome;
    try {
      outcome = await api.submit({ body: request.upstreamBody, referenceImages: request.referenceImages });
    } catch (error) {
      if (!(error instanceof JobApiUnavailable)) throw error;
      this.deps.logger.warn({ err: error, jobId: row.id }, 'image job: the job API is unavailable');
      outcome = { kind: 'unavailable' as const };
    }
    if (outcome.kind === 'accepted') {
      await this.deps.repo.update(row.id, null, {
        upstream_id: outcome.upstreamId,
        status: outcome.state === 'running' ? 'running' : 'queued',
        updated_at: this.deps.clock.now(),
      });
      // An upstream that finished at once (or failed) is settled now, not at the next poll.
      if (outcome.state !== 'queued' && outcome.state !== 'running') await this.deps.settler.refresh(row.id);
      return this.view(await this.mustFind(caller.userId, row.id));
    }
    // Not accepted: nothing is charged, the job is recorded as failed, the client told why.
    if (outcome.kind === 'garbage')
      this.deps.logger.warn({ jobId: row.id, detail: outcome.detail }, 'image job: the job API answered garbage');
    if (outcome.kind === 'refused') {
      await this.deps.settler.abandon(row.id, 'IMAGE_JOB_REJECTED', outcome.message);
      throw new AppError('IMAGE_JOB_REJECTED', { detail: outcome.message }, { jobId: row.id });
    }
    await this.deps.settler.abandon(row.id, 'IMAGE_JOB_UPSTREAM_FAILED', 'the upstream did not accept the job');
    throw new AppError('IMAGE_JOB_UPSTREAM_FAILED', {}, { jobId: row.id });
  }

  async list(
    userId: string,
    query: { page: number; limit: number; cursor?: string | undefined; status?: JobStatus | undefined },
  ) {
    return keysetPage(
      query,
      (before, offset, limit) => this.deps.repo.list(userId, query.status, before, offset, limit),
      (row) => Number(row.created_at),
      (rows) => rows.map((row) => this.view(row)),
    );
  }

  /**
   * What a job of `count` images in this mode and resolution would hold for this user now: the price
   * per image (docs/image-jobs.md) times the role's and the plan's multipliers, as the hold computes it.
   * A quote, not a promise: an admin may change the price, or the plan may end, before the submission.
   */
  async quote(
    userId: string,
    role: Role,
    query: { mode: string; resolution: string; count: number },
  ): Promise<JobQuote> {
    const { mode, resolution, count } = query;
    const { model, price } = jobPrice(this.deps.pricing, this.options.creditsPerUsd, mode, resolution);
    const plan = this.deps.admission.plans ? await this.deps.admission.plans.activePlan(userId) : null;
    const usage = { inputTokens: 0, outputTokens: 0, images: count };
    const credits = this.deps.pricing.charge(price, usage, role, plan?.terms.multiplierPermille);
    return { model, mode, resolution, count, credits };
  }

  /** The images settled jobs made: the user's, or everyone's (statistics). */
  imagesMade(userId?: string): Promise<number> {
    return this.deps.repo.imagesMade(userId);
  }

  /** The caller's job, looked at upstream first when it is still open (so an answer is never a poll behind). */
  async get(userId: string, jobId: string): Promise<JobView> {
    const row = await this.mustFind(userId, jobId);
    if (row.settled_at === null) await this.deps.settler.refresh(row.id);
    return this.view(await this.mustFind(userId, jobId));
  }

  /** Cancels the caller's open job (the upstream is told, the hold released); a finished one is 409. */
  async cancel(userId: string, jobId: string): Promise<JobView> {
    const row = await this.mustFind(userId, jobId);
    if (row.status === 'canceled') return this.view(row);
    if (isFinal(row.status)) throw new AppError('IMAGE_JOB_FINISHED', { status: row.status });
    const claimed = await this.deps.settler.cancel(row);
    const after = await this.mustFind(userId, jobId);
    // Not claimed: another instance held it, and may have ended it meanwhile.
    if (!claimed && !isFinal(after.status)) throw new AppError('IMAGE_JOB_BUSY');
    if (after.status !== 'canceled') throw new AppError('IMAGE_JOB_FINISHED', { status: after.status });
    return this.view(after);
  }

  private async mustFind(userId: string, jobId: string): Promise<ImageJobRow> {
    const row = await this.deps.repo.findOwned(userId, jobId);
    if (!row) throw new AppError('IMAGE_JOB_NOT_FOUND');
    return row;
  }

  private async release(held: HeldJob, reason: string): Promise<void> {
    await cancelJob(this.deps.admission, held, { channelId: null, httpStatus: 500, endReason: reason }).catch(
      (error: unknown) =>
        this.deps.logger.error({ err: error }, 'image job: a hold could not be released; the sweeper frees it'),
    );
  }

  view(row: ImageJobRow): JobView {
    const iso = (ms: number | string) => new Date(Number(ms)).toISOString();
    return {
      id: row.id,
      status: row.status,
      prompt: row.prompt,
      negativePrompt: row.negative_prompt,
      mode: row.mode,
      resolution: row.resolution,
      count: Number(row.image_count),
      params: JSON.parse(row.params) as JobView['params'],
      characterId: row.character_id,
      promptTemplateId: row.prompt_template_id,
      paramTemplateId: row.param_template_id,
      images: row.images ? (JSON.parse(row.images) as JobImage[]) : [],
      creditsHeld: Number(row.credits_held),
      creditsCharged: row.credits_charged === null ? null : Number(row.credits_charged),
      error: row.error_code ? { code: row.error_code, message: row.error_message ?? '' } : null,
      createdAt: iso(row.created_at),
      updatedAt: iso(row.updated_at),
      finishedAt: row.finished_at === null ? null : iso(row.finished_at),
    };
  }
}

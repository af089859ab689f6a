import type { FastifyBaseLogger } from 'fastify';
import type { Clock } from '#core/clock.ts';
import type { Config } from '#core/config.ts';
import type { Database } from '#core/db/create-db.ts';
import type { CharactersService } from '#modules/characters/characters.service.ts';
import type { AdmissionDeps } from '#modules/metering/admission.ts';
import type { PricingService } from '#modules/pricing/pricing.service.ts';
import type { RateLimiter } from '#modules/ratelimit/rate-limiter.ts';
import type { StorageService } from '#modules/storage/storage.service.ts';
import type { TemplatesService } from '#modules/templates/templates.service.ts';
import { JobImageCopier } from './image-copy.ts';
import { ImageJobsRepository } from './image-jobs.repository.ts';
import { ImageJobsService } from './image-jobs.service.ts';
import { JobSettler } from './image-jobs.settle.ts';
import type { ImageJobApi } from './job-api.ts';
import { ThirdPartyJobApi } from './third-party-api.ts';

/** The image-job service and its poller, built from the configuration (docs/image-jobs.md). */
export function createImageJobs(
  config: Config,
  parts: {
    database: Database;
    admission: AdmissionDeps & { limiter: RateLimiter };
    pricing: PricingService;
    templates: TemplatesService;
    characters: CharactersService;
    storage: StorageService;
    clock: Clock;
    logger: FastifyBaseLogger;
  },
): { service: ImageJobsService; settler: JobSettler } {
  const timeoutMs = config.IMAGE_JOB_UPSTREAM_TIMEOUT * 1000;
  const api =
    config.THIRD_PARTY_API_BASE_URL && config.THIRD_PARTY_API_KEY
      ? new ThirdPartyJobApi(config.THIRD_PARTY_API_BASE_URL, config.THIRD_PARTY_API_KEY, timeoutMs)
      : null;
  const apis = new Map<string, ImageJobApi>(api ? [[api.name, api]] : []);
  const repo = new ImageJobsRepository(parts.database.db);
  const pollIntervalMs = config.IMAGE_JOB_POLL_INTERVAL * 1000;
  const settler = new JobSettler(
    {
      repo,
      apis,
      billing: parts.admission,
      limiter: parts.admission.limiter,
      copier: new JobImageCopier(parts.storage, parts.logger, timeoutMs),
      clock: parts.clock,
      logger: parts.logger,
    },
    {
      pollIntervalMs,
      // A claim outlasts one status call and the copy of a job's images (each with its own timeout).
      leaseMs: Math.max(60_000, 2 * pollIntervalMs, 12 * timeoutMs),
      submitGraceMs: 2 * timeoutMs + 60_000,
    },
  );
  const service = new ImageJobsService(
    { repo, api, settler, ...parts },
    { creditsPerUsd: config.CREDITS_PER_USD, timeoutMs: config.IMAGE_JOB_TIMEOUT * 1000, pollIntervalMs },
  );
  return { service, settler };
}

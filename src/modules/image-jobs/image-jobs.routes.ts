import { CursorPaged } from '#core/http/pagination.ts';
import { principalOf } from '#core/http/principal.ts';
import type { App } from '#core/http/route-config.ts';
import { Ok, ok } from '#src/surfaces/dream/envelope.ts';
import { GenerateBody, JobListQuery, JobParams, JobPriceSchema, JobSchema, PriceQuery } from './image-jobs.schemas.ts';
import { DEFAULT_MODE, DEFAULT_RESOLUTION } from './image-jobs.request.ts';
import type { ImageJobsService } from './image-jobs.service.ts';

/**
 * Seed 003's API proxy: paid image-generation jobs (docs/seed-003.md, Image jobs; docs/image-jobs.md).
 * A signed-in user (WeChat or email) or an API key; another user's job is 404.
 */
export function registerImageJobRoutes(app: App, jobs: ImageJobsService): void {
  const base = { config: { access: 'userOrKey' as const } };
  const schema = { tags: ['image jobs'], security: [{ bearer: [] }] };

  app.post(
    '/v1/proxy/images/generate',
    {
      ...base,
      schema: {
        ...schema,
        summary: 'Start an image-generation job: its price is held now, charged for the images it delivers',
        body: GenerateBody,
        response: { 200: Ok(JobSchema) },
      },
    },
    async (request, reply) => {
      const principal = principalOf(request);
      const caller = {
        requestId: request.id,
        userId: principal.userId,
        role: principal.role,
        key: principal.apiKey ?? null,
        origin: `${request.protocol}://${request.host}`,
      };
      return ok(await jobs.submit(caller, request.body, reply));
    },
  );

  app.get(
    '/v1/proxy/images/price',
    {
      ...base,
      schema: {
        ...schema,
        summary: 'What a job of these settings would hold now, at my role and plan (Tollgate’s addition)',
        querystring: PriceQuery,
        response: { 200: Ok(JobPriceSchema) },
      },
    },
    async (request) => {
      const { userId, role } = principalOf(request);
      const { mode = DEFAULT_MODE, resolution = DEFAULT_RESOLUTION, count = 1 } = request.query;
      return ok(await jobs.quote(userId, role, { mode, resolution, count }));
    },
  );

  app.get(
    '/v1/proxy/jobs',
    {
      ...base,
      schema: {
        ...schema,
        summary: 'My jobs, newest first (page or cursor; filter by status)',
        querystring: JobListQuery,
        response: { 200: Ok(CursorPaged(JobSchema)) },
      },
    },
    async (request) => ok(await jobs.list(principalOf(request).userId, request.query)),
  );

  app.get(
    '/v1/proxy/jobs/:jobId',
    {
      ...base,
      schema: {
        ...schema,
        summary: 'One of my jobs, as it stands now (with its images once it succeeded)',
        params: JobParams,
        response: { 200: Ok(JobSchema) },
      },
    },
    async (request) => ok(await jobs.get(principalOf(request).userId, request.params.jobId)),
  );

  app.delete(
    '/v1/proxy/jobs/:jobId',
    {
      ...base,
      schema: {
        ...schema,
        summary: 'Cancel my job: the upstream is told and the held credits are released',
        params: JobParams,
        response: { 200: Ok(JobSchema) },
      },
    },
    async (request) => ok(await jobs.cancel(principalOf(request).userId, request.params.jobId)),
  );
}

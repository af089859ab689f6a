import { CursorPaged } from '#core/http/pagination.ts';
import type { App } from '#core/http/route-config.ts';
import { auditDetail } from '#modules/admin/audit.ts';
import { Ok, ok } from '#src/surfaces/dream/envelope.ts';
import {
  AdminTemplateListQuery,
  CreateParamTemplateBody,
  CreatePromptTemplateBody,
  DeletedResult,
  ParamTemplateSchema,
  PromptTemplateSchema,
  TemplateListQuery,
  TemplateParams,
  UpdateParamTemplateBody,
  UpdatePromptTemplateBody,
  UsageResult,
} from './templates.schemas.ts';
import type { TemplatesService } from './templates.service.ts';

const LIST_DESCRIPTION =
  '`sort`: default (the admins’ order), trending (most used first; `trending=true` says the same) or newest. ' +
  'Page by `page` or by `cursor` (the previous page’s `nextCursor`, with the same category and sort).';

/**
 * Seed 003's templates (docs/seed-003.md, Templates): the prompt and parameter templates users pick
 * from (public: a mini-program shows them before sign-in), their use counters (signed in), and the
 * admins' create/update/delete under /v1/admin/templates (an admin's session or X-Admin-Key; each
 * change audited with the template before and after). Seed 003's envelope on every answer.
 */
export function registerTemplatesRoutes(app: App, templates: TemplatesService): void {
  const security = [{ bearer: [] }];

  app.get(
    '/v1/templates/prompts',
    {
      config: { access: 'public' },
      schema: {
        tags: ['templates'],
        summary: 'Prompt templates (category filter, trending by use)',
        description: LIST_DESCRIPTION,
        querystring: TemplateListQuery,
        response: { 200: Ok(CursorPaged(PromptTemplateSchema)) },
      },
    },
    async (request) => ok(await templates.listPrompts({ ...request.query, active: true })),
  );

  app.get(
    '/v1/templates/params',
    {
      config: { access: 'public' },
      schema: {
        tags: ['templates'],
        summary: 'Parameter templates: mode, resolution, image count and other settings (category filter, trending)',
        description: LIST_DESCRIPTION,
        querystring: TemplateListQuery,
        response: { 200: Ok(CursorPaged(ParamTemplateSchema)) },
      },
    },
    async (request) => ok(await templates.listParams({ ...request.query, active: true })),
  );

  app.get(
    '/v1/templates/prompts/:id',
    {
      config: { access: 'public' },
      schema: {
        tags: ['templates'],
        summary: 'One prompt template',
        params: TemplateParams,
        response: { 200: Ok(PromptTemplateSchema) },
      },
    },
    async (request) => ok(await templates.promptTemplate(request.params.id)),
  );

  app.get(
    '/v1/templates/params/:id',
    {
      config: { access: 'public' },
      schema: {
        tags: ['templates'],
        summary: 'One parameter template',
        params: TemplateParams,
        response: { 200: Ok(ParamTemplateSchema) },
      },
    },
    async (request) => ok(await templates.paramTemplate(request.params.id)),
  );

  app.post(
    '/v1/templates/prompts/:id/usage',
    {
      config: { access: 'user' },
      schema: {
        tags: ['templates'],
        security,
        summary: 'Count one use of a prompt template (atomic); the count after it',
        params: TemplateParams,
        response: { 200: Ok(UsageResult) },
      },
    },
    async (request) => ok(await templates.recordUse('prompt', request.params.id)),
  );

  app.post(
    '/v1/templates/params/:id/usage',
    {
      config: { access: 'user' },
      schema: {
        tags: ['templates'],
        security,
        summary: 'Count one use of a parameter template (atomic); the count after it',
        params: TemplateParams,
        response: { 200: Ok(UsageResult) },
      },
    },
    async (request) => ok(await templates.recordUse('param', request.params.id)),
  );

  registerTemplatesAdminRoutes(app, templates);
}

function registerTemplatesAdminRoutes(app: App, templates: TemplatesService): void {
  const security = [{ bearer: [] }];
  const admin = { access: 'admin' as const };
  const tags = ['admin'];

  app.get(
    '/v1/admin/templates/prompts',
    {
      config: admin,
      schema: {
        tags,
        security,
        summary: 'Every prompt template, hidden ones too (`active` narrows)',
        querystring: AdminTemplateListQuery,
        response: { 200: Ok(CursorPaged(PromptTemplateSchema)) },
      },
    },
    async (request) => ok(await templates.listPrompts(request.query)),
  );

  app.post(
    '/v1/admin/templates/prompts',
    {
      config: admin,
      schema: {
        tags,
        security,
        summary: 'Create a prompt template',
        body: CreatePromptTemplateBody,
        response: { 200: Ok(PromptTemplateSchema) },
      },
    },
    async (request) => {
      const created = await templates.createPrompt(request.body);
      auditDetail(request, { targetType: 'prompt_template', targetId: created.id, after: created });
      return ok(created);
    },
  );

  app.put(
    '/v1/admin/templates/prompts/:id',
    {
      config: admin,
      schema: {
        tags,
        security,
        summary: 'Change a prompt template (the fields sent); isActive false hides it from users',
        params: TemplateParams,
        body: UpdatePromptTemplateBody,
        response: { 200: Ok(PromptTemplateSchema) },
      },
    },
    async (request) => {
      const { before, after } = await templates.updatePrompt(request.params.id, request.body);
      auditDetail(request, { targetType: 'prompt_template', targetId: after.id, before, after });
      return ok(after);
    },
  );

  app.delete(
    '/v1/admin/templates/prompts/:id',
    {
      config: admin,
      schema: {
        tags,
        security,
        summary: 'Delete a prompt template',
        params: TemplateParams,
        response: { 200: Ok(DeletedResult) },
      },
    },
    async (request) => {
      const before = await templates.remove('prompt', request.params.id);
      auditDetail(request, { targetType: 'prompt_template', targetId: before.id, before });
      return ok({ id: before.id, deleted: true as const });
    },
  );

  app.get(
    '/v1/admin/templates/params',
    {
      config: admin,
      schema: {
        tags,
        security,
        summary: 'Every parameter template, hidden ones too (`active` narrows)',
        querystring: AdminTemplateListQuery,
        response: { 200: Ok(CursorPaged(ParamTemplateSchema)) },
      },
    },
    async (request) => ok(await templates.listParams(request.query)),
  );

  app.post(
    '/v1/admin/templates/params',
    {
      config: admin,
      schema: {
        tags,
        security,
        summary: 'Create a parameter template',
        body: CreateParamTemplateBody,
        response: { 200: Ok(ParamTemplateSchema) },
      },
    },
    async (request) => {
      const created = await templates.createParam(request.body);
      auditDetail(request, { targetType: 'param_template', targetId: created.id, after: created });
      return ok(created);
    },
  );

  app.put(
    '/v1/admin/templates/params/:id',
    {
      config: admin,
      schema: {
        tags,
        security,
        summary: 'Change a parameter template (the fields sent); isActive false hides it from users',
        params: TemplateParams,
        body: UpdateParamTemplateBody,
        response: { 200: Ok(ParamTemplateSchema) },
      },
    },
    async (request) => {
      const { before, after } = await templates.updateParam(request.params.id, request.body);
      auditDetail(request, { targetType: 'param_template', targetId: after.id, before, after });
      return ok(after);
    },
  );

  app.delete(
    '/v1/admin/templates/params/:id',
    {
      config: admin,
      schema: {
        tags,
        security,
        summary: 'Delete a parameter template',
        params: TemplateParams,
        response: { 200: Ok(DeletedResult) },
      },
    },
    async (request) => {
      const before = await templates.remove('param', request.params.id);
      auditDetail(request, { targetType: 'param_template', targetId: before.id, before });
      return ok({ id: before.id, deleted: true as const });
    },
  );
}

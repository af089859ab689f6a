import multipart from '@fastify/multipart';
import type { FastifyRequest } from 'fastify';
import { langOf, message as say } from '#core/i18n.ts';
import type { App } from '#core/http/route-config.ts';
import { registerDifyConversationRoutes } from './dify-conversations.routes.ts';
import { registerDifyMediaRoutes } from './dify-media.routes.ts';
import { registerDifyProxyRoute } from './dify-proxy.routes.ts';
import { GENERATIONS, relayGeneration, type DifyCallDeps, type Generation, type GenerationBody } from './dify-calls.ts';
import { ChatBody, CompletionBody, StopBody, TaskParams, WorkflowBody } from './dify.schemas.ts';
import { DifyService, type DifyCaller } from './dify.service.ts';
import { principalOf } from '#core/http/principal.ts';

export interface DifyRouteDeps extends DifyCallDeps {
  uploadLimit: number;
}

export const DIFY_TAGS = ['Dify proxy (seed 001 §4)'];
export const DIFY_SECURITY = [{ bearer: [] }];
/** A signed-in user or one of their API keys; errors in seed 001's envelope. */
export const DIFY_ACCESS = { access: 'userOrKey' as const };

export function callerOf(request: FastifyRequest): DifyCaller {
  const principal = principalOf(request);
  return { userId: principal.userId, role: principal.role, key: principal.apiKey ?? null, requestId: request.id };
}

/** `X-Dify-App: <id or name>` picks the app when several serve an endpoint. */
export function requestedApp(request: FastifyRequest): string | undefined {
  const value = request.headers['x-dify-app'];
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

/**
 * `/api/dify/*`: every Dify service endpoint of seed 001, for the caller only: Tollgate sets Dify's
 * `user`, records what each call creates with its owner, and bills every call through the credits service.
 */
export async function registerDifyRoutes(app: App, deps: DifyRouteDeps): Promise<void> {
  await app.register(async (scope: App) => {
    // Multipart is for the upload endpoints of this surface only; elsewhere it stays an unsupported type.
    await scope.register(multipart, {
      limits: { fileSize: deps.uploadLimit, files: 1, fields: 20, fieldSize: 64 * 1024, parts: 25 },
    });
    registerGenerationRoutes(scope, deps);
    registerAppRoutes(scope, deps);
    registerDifyConversationRoutes(scope, deps);
    registerDifyMediaRoutes(scope, deps);
    registerDifyProxyRoute(scope);
  });
}

function registerGenerationRoutes(app: App, deps: DifyRouteDeps): void {
  const generate =
    (generation: Generation) =>
    (request: FastifyRequest<{ Body: GenerationBody }>, reply: Parameters<typeof relayGeneration>[4]) =>
      relayGeneration(deps, generation, callerOf(request), request.body, reply, requestedApp(request));
  const schema = (summary: string) => ({ tags: DIFY_TAGS, security: DIFY_SECURITY, summary });

  app.post(
    '/api/dify/chat-messages',
    {
      config: DIFY_ACCESS,
      schema: { ...schema('Chat (blocking or streaming), in a new or an own conversation'), body: ChatBody },
    },
    generate(GENERATIONS.chat),
  );
  app.post(
    '/api/dify/completion-messages',
    { config: DIFY_ACCESS, schema: { ...schema('Text generation (blocking or streaming)'), body: CompletionBody } },
    generate(GENERATIONS.completion),
  );
  app.post(
    '/api/dify/workflows/run',
    { config: DIFY_ACCESS, schema: { ...schema('Run a workflow (blocking or streaming)'), body: WorkflowBody } },
    generate(GENERATIONS.workflow),
  );

  const stop = (generation: Generation) => async (request: FastifyRequest<{ Params: { taskId: string } }>) => {
    const caller = callerOf(request);
    const owner = await deps.dify.ownTask(caller, request.params.taskId, generation.family);
    const channel = deps.dify.appOf(owner.channelId, caller.key);
    await deps.dify.sendForJson(channel, {
      method: 'POST',
      path: generation.stopPath(request.params.taskId),
      body: { json: { user: DifyService.identity(caller.userId) } },
    });
    return { result: 'success', success: true, message: say(langOf(request), 'TASK_STOPPED') };
  };
  const stopSchema = (summary: string) => ({ ...schema(summary), params: TaskParams, body: StopBody });
  app.post(
    '/api/dify/chat-messages/:taskId/stop',
    { config: DIFY_ACCESS, schema: stopSchema('Stop an own streaming chat answer') },
    stop(GENERATIONS.chat),
  );
  app.post(
    '/api/dify/completion-messages/:taskId/stop',
    { config: DIFY_ACCESS, schema: stopSchema('Stop an own streaming completion') },
    stop(GENERATIONS.completion),
  );
  app.post(
    '/api/dify/workflows/tasks/:taskId/stop',
    { config: DIFY_ACCESS, schema: stopSchema('Stop an own streaming workflow run') },
    stop(GENERATIONS.workflow),
  );
}

/** App-wide information, of the app the caller would talk to; nothing in it belongs to another user. */
function registerAppRoutes(app: App, deps: DifyRouteDeps): void {
  const { dify } = deps;
  const schema = (summary: string) => ({ tags: DIFY_TAGS, security: DIFY_SECURITY, summary });
  const appFor = (request: FastifyRequest) => dify.pickApp(null, requestedApp(request), callerOf(request).key);

  app.get(
    '/api/dify/meta',
    { config: DIFY_ACCESS, schema: schema('The app: {app: {id, name, description}} and Dify’s tool icons') },
    async (request) => {
      const channel = appFor(request);
      const [meta, info] = await Promise.all([
        dify.sendForJson<Record<string, unknown>>(channel, { method: 'GET', path: '/meta' }),
        dify.sendForJson<{ name?: string; description?: string }>(channel, { method: 'GET', path: '/info' }),
      ]);
      const app = {
        id: channel.id,
        name: info.body.name ?? channel.name,
        description: info.body.description ?? '',
        mode: channel.dify.mode,
      };
      return { ...meta.body, app };
    },
  );

  app.get(
    '/api/dify/parameters',
    { config: DIFY_ACCESS, schema: schema('The app’s parameters: Dify’s answer, also under `parameters`') },
    async (request) => {
      const parameters = (
        await dify.sendForJson<Record<string, unknown>>(appFor(request), { method: 'GET', path: '/parameters' })
      ).body;
      return { ...parameters, parameters };
    },
  );

  app.get(
    '/api/dify/info',
    { config: DIFY_ACCESS, schema: schema('The app’s name, description, tags and mode') },
    async (request) => {
      return (await dify.sendForJson<Record<string, unknown>>(appFor(request), { method: 'GET', path: '/info' })).body;
    },
  );
}

import { Type } from 'typebox';
import { AppError } from '#core/errors.ts';
import { Paging } from '#core/http/pagination.ts';
import type { App } from '#core/http/route-config.ts';
import { auditDetail } from '#modules/admin/audit.ts';
import type { ChannelsService } from '#modules/channels/channels.service.ts';
import type { DifyPrices } from '#modules/channels/dify-app.ts';
import { callerOf, requestedApp } from '#modules/dify/dify.routes.ts';
import { GENERATIONS, relayGeneration, type DifyCallDeps } from '#modules/dify/dify-calls.ts';
import type { DifyConversationRow, DifyMessageRow } from '#modules/dify/dify.tables.ts';
import { principalOf } from '#core/http/principal.ts';

/**
 * Seed 002 (Dify ReChat): streaming chat and conversations on the local store the Dify proxy keeps
 * (conversations and messages with their owner, in step with Dify), and the admin's Dify key, which
 * is the first Dify app of /api/admin/channels. Errors are FastAPI's `{detail}`.
 */
const Id = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$' });
const IdParams = Type.Object({ id: Id });

const StreamBody = Type.Object(
  {
    message: Type.Optional(Type.String({ minLength: 1, maxLength: 100_000 })),
    query: Type.Optional(Type.String({ minLength: 1, maxLength: 100_000 })),
    conversation_id: Type.Optional(Type.Union([Id, Type.Null()])),
    inputs: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  },
  { additionalProperties: false },
);

const ConversationView = Type.Object({
  id: Type.String(),
  title: Type.String(),
  dify_conversation_id: Type.String(),
  created_at: Type.String(),
  updated_at: Type.String(),
});

const MessageView = Type.Object({
  id: Type.String(),
  conversation_id: Type.String(),
  role: Type.Union([Type.Literal('user'), Type.Literal('assistant')]),
  content: Type.String(),
  created_at: Type.String(),
});

const ListQuery = Type.Object(
  { skip: Paging.skip(), limit: Paging.limit({ default: 50 }) },
  { additionalProperties: false },
);

const ConfigView = Type.Object({
  configured: Type.Boolean(),
  id: Type.Union([Type.String(), Type.Null()]),
  api_url: Type.Union([Type.String(), Type.Null()]),
  api_key_masked: Type.Union([Type.String(), Type.Null()]),
  app_mode: Type.Union([Type.String(), Type.Null()]),
});

const ConfigBody = Type.Object(
  {
    api_key: Type.String({ minLength: 1, maxLength: 1024 }),
    api_url: Type.Optional(Type.String({ pattern: '^https?://[^\\s]+$', maxLength: 512 })),
    app_mode: Type.Optional(Type.Union(['chat', 'agent-chat', 'advanced-chat'].map((m) => Type.Literal(m)))),
  },
  { additionalProperties: false },
);

const iso = (ms: number) => new Date(ms).toISOString();

function conversationView(row: DifyConversationRow) {
  return {
    id: row.id,
    title: row.name,
    dify_conversation_id: row.id,
    created_at: iso(row.created_at),
    updated_at: iso(row.updated_at),
  };
}

function messageViews(row: DifyMessageRow) {
  const base = { conversation_id: row.conversation_id ?? '', created_at: iso(row.created_at) };
  return [
    { id: `${row.id}:query`, role: 'user' as const, content: row.query, ...base },
    { id: row.id, role: 'assistant' as const, content: row.answer, ...base },
  ];
}

export interface RechatChatDeps extends DifyCallDeps {
  channels: ChannelsService;
  difyDefaults: DifyPrices;
  defaultDifyUrl: string;
}

export function registerRechatChatRoutes(app: App, deps: RechatChatDeps): void {
  const { dify, channels } = deps;
  const config = { access: 'user' as const, errorFormat: 'fastapi' as const };
  const admin = { access: 'admin' as const, errorFormat: 'fastapi' as const };
  const tags = ['seed 002 (ReChat)'];
  const security = [{ bearer: [] }];

  app.post(
    '/api/v1/chat/stream',
    { config, schema: { tags, security, summary: 'Chat, streamed as Dify’s SSE events', body: StreamBody } },
    async (request, reply) => {
      const query = request.body.message ?? request.body.query;
      if (!query) throw new AppError('VALIDATION_FAILED', { detail: 'message is required' });
      const body = {
        query,
        inputs: request.body.inputs ?? {},
        response_mode: 'streaming' as const,
        conversation_id: request.body.conversation_id ?? null,
      };
      await relayGeneration(deps, GENERATIONS.chat, callerOf(request), body, reply, requestedApp(request));
    },
  );

  app.get(
    '/api/v1/conversations',
    {
      config,
      schema: {
        tags,
        security,
        summary: 'The caller’s conversations, newest first',
        querystring: ListQuery,
        response: { 200: Type.Array(ConversationView) },
      },
    },
    async (request) => {
      const rows = await dify.records.conversations(principalOf(request).userId, {
        limit: request.query.skip + request.query.limit,
        order: '-updated_at',
      });
      return rows.slice(request.query.skip).map(conversationView);
    },
  );

  app.get(
    '/api/v1/conversations/:id',
    {
      config,
      schema: {
        tags,
        security,
        summary: 'One own conversation',
        params: IdParams,
        response: { 200: ConversationView },
      },
    },
    async (request) => conversationView(await dify.ownConversation(callerOf(request), request.params.id)),
  );

  app.get(
    '/api/v1/conversations/:id/messages',
    {
      config,
      schema: {
        tags,
        security,
        summary: 'An own conversation’s messages, oldest first',
        params: IdParams,
        response: { 200: Type.Array(MessageView) },
      },
    },
    async (request) => {
      const conversation = await dify.ownConversation(callerOf(request), request.params.id);
      return (await dify.records.messagesOf(conversation.id)).flatMap(messageViews);
    },
  );

  app.patch(
    '/api/v1/conversations/:id',
    {
      config,
      schema: {
        tags,
        security,
        summary: 'Rename an own conversation (here and in Dify)',
        params: IdParams,
        body: Type.Object({ title: Type.String({ minLength: 1, maxLength: 255 }) }, { additionalProperties: false }),
        response: { 200: ConversationView },
      },
    },
    async (request) => {
      const caller = callerOf(request);
      await dify.renameConversation(caller, request.params.id, request.body.title, false);
      return conversationView(await dify.ownConversation(caller, request.params.id));
    },
  );

  app.delete(
    '/api/v1/conversations/:id',
    {
      config,
      schema: {
        tags,
        security,
        summary: 'Delete an own conversation (here and in Dify)',
        params: IdParams,
        response: { 200: Type.Object({ message: Type.String() }) },
      },
    },
    async (request) => {
      await dify.deleteConversation(callerOf(request), request.params.id);
      return { message: 'Conversation deleted' };
    },
  );

  /** The Dify key of seed 002 is the first Dify app, best first, as /api/admin/channels lists them. */
  const current = () => channels.all().find((c) => c.kind === 'dify');
  const configView = () => {
    const channel = current();
    if (!channel) return { configured: false, id: null, api_url: null, api_key_masked: null, app_mode: null };
    const secret = channel.secret;
    return {
      configured: true,
      id: channel.id,
      api_url: channel.baseUrl,
      api_key_masked: secret.length <= 8 ? '…' : `${secret.slice(0, 4)}…${secret.slice(-4)}`,
      app_mode: channel.dify?.mode ?? null,
    };
  };

  app.get(
    '/api/v1/admin/dify/config',
    {
      config: admin,
      schema: { tags, security, summary: 'The Dify app ReChat talks to (key masked)', response: { 200: ConfigView } },
    },
    configView,
  );

  app.post(
    '/api/v1/admin/dify/config',
    {
      config: admin,
      schema: {
        tags,
        security,
        summary: 'Set the Dify API key (and URL)',
        body: ConfigBody,
        response: { 200: ConfigView },
      },
    },
    async (request) => {
      const { api_key: secret, api_url: baseUrl, app_mode: mode } = request.body;
      const channel = current();
      const before = configView();
      if (channel) {
        await channels.update(channel.id, {
          secret,
          ...(baseUrl ? { baseUrl } : {}),
          ...(mode ? { dify: { mode, prices: channel.dify.prices } } : {}),
        });
      } else {
        await channels.create({
          name: 'dify',
          kind: 'dify',
          baseUrl: baseUrl ?? deps.defaultDifyUrl,
          secret,
          models: [],
          modelMap: {},
          priority: 0,
          weight: 1,
          enabled: true,
          dify: { mode: mode ?? 'chat', prices: deps.difyDefaults },
        });
      }
      const after = configView();
      // The masked views only: the key itself never reaches the log.
      auditDetail(request, { targetType: 'channel', targetId: after.id ?? '', before, after });
      return after;
    },
  );

  app.delete(
    '/api/v1/admin/dify/config',
    {
      config: admin,
      schema: {
        tags,
        security,
        summary: 'Remove the Dify app ReChat talks to',
        response: { 200: Type.Object({ message: Type.String() }) },
      },
    },
    async (request) => {
      const channel = current();
      if (!channel) throw new AppError('NOT_FOUND');
      const before = configView();
      await channels.remove(channel.id);
      auditDetail(request, { targetType: 'channel', targetId: channel.id, before });
      return { message: 'Dify configuration deleted' };
    },
  );
}

import { langOf, message as say } from '#core/i18n.ts';
import type { App } from '#core/http/route-config.ts';
import { AppError } from '#core/errors.ts';
import { meterFlat, type DifyCallDeps } from './dify-calls.ts';
import { callerOf, DIFY_ACCESS, DIFY_SECURITY, DIFY_TAGS } from './dify.routes.ts';
import {
  ConversationsQuery,
  FeedbackBody,
  IdParams,
  MessagesQuery,
  RenameBody,
  VariablesQuery,
} from './dify.schemas.ts';
import { DifyService } from './dify.service.ts';
import type { DifyConversationRow } from './dify.tables.ts';

/** A conversation in Dify's list shape, with ISO times as seed 001 asks (`created_at: string`). */
function conversationView(row: DifyConversationRow) {
  return {
    id: row.id,
    name: row.name,
    inputs: {},
    status: 'normal',
    introduction: '',
    created_at: new Date(row.created_at).toISOString(),
    updated_at: new Date(row.updated_at).toISOString(),
  };
}

/** Conversations and messages of the caller only: Tollgate's records decide ownership before Dify is asked. */
export function registerDifyConversationRoutes(app: App, deps: DifyCallDeps): void {
  const { dify } = deps;
  const schema = (summary: string) => ({ tags: DIFY_TAGS, security: DIFY_SECURITY, summary });
  const user = (userId: string) => DifyService.identity(userId);

  app.get(
    '/api/dify/conversations',
    {
      config: DIFY_ACCESS,
      schema: {
        ...schema('The caller’s conversations, newest first (last_id, limit, sort_by)'),
        querystring: ConversationsQuery,
      },
    },
    async (request) => {
      const caller = callerOf(request);
      const { limit, sort_by: order, last_id: lastId } = request.query;
      const after = lastId
        ? await dify.ownConversation(caller, lastId).catch(() => Promise.reject(new AppError('CONVERSATION_NOT_FOUND')))
        : undefined;
      const rows = await dify.records.conversations(caller.userId, { limit: limit + 1, order: order, after });
      return { limit, has_more: rows.length > limit, data: rows.slice(0, limit).map(conversationView) };
    },
  );

  app.get(
    '/api/dify/conversations/:id/messages',
    {
      config: DIFY_ACCESS,
      schema: {
        ...schema('An own conversation’s messages, oldest first, as {id, content, role, created_at}'),
        params: IdParams,
      },
    },
    async (request) => {
      const conversation = await dify.ownConversation(callerOf(request), request.params.id);
      const rows = await dify.records.messagesOf(conversation.id);
      const data = rows.flatMap((m) => {
        const created = new Date(m.created_at).toISOString();
        return [
          {
            id: `${m.id}:query`,
            message_id: m.id,
            conversation_id: m.conversation_id,
            role: 'user',
            content: m.query,
            created_at: created,
          },
          {
            id: m.id,
            message_id: m.id,
            conversation_id: m.conversation_id,
            role: 'assistant',
            content: m.answer,
            status: m.status,
            feedback: m.rating ? { rating: m.rating } : null,
            created_at: created,
          },
        ];
      });
      return { data, has_more: false, limit: data.length };
    },
  );

  app.get(
    '/api/dify/messages',
    {
      config: DIFY_ACCESS,
      schema: {
        ...schema('Dify’s message history of an own conversation (first_id, limit), as Dify gives it'),
        querystring: MessagesQuery,
      },
    },
    async (request) => {
      const caller = callerOf(request);
      const conversation = await dify.ownConversation(caller, request.query.conversation_id);
      const query: Record<string, string> = { conversation_id: conversation.id, user: user(caller.userId) };
      if (request.query.first_id) query.first_id = request.query.first_id;
      if (request.query.limit) query.limit = String(request.query.limit);
      return (
        await dify.sendForJson(dify.appOf(conversation.channel_id, caller.key), {
          method: 'GET',
          path: '/messages',
          query,
        })
      ).body;
    },
  );

  app.delete(
    '/api/dify/conversations/:id',
    { config: DIFY_ACCESS, schema: { ...schema('Delete an own conversation (here and in Dify)'), params: IdParams } },
    async (request) => {
      await dify.deleteConversation(callerOf(request), request.params.id);
      return { result: 'success', success: true, message: say(langOf(request), 'CONVERSATION_DELETED') };
    },
  );

  app.post(
    '/api/dify/conversations/:id/name',
    {
      config: DIFY_ACCESS,
      schema: {
        ...schema('Rename an own conversation (or let Dify name it: auto_generate)'),
        params: IdParams,
        body: RenameBody,
      },
    },
    async (request) => {
      const conversation = await dify.renameConversation(
        callerOf(request),
        request.params.id,
        request.body.name,
        request.body.auto_generate ?? false,
      );
      return { ...conversation, success: true, message: say(langOf(request), 'CONVERSATION_RENAMED') };
    },
  );

  app.get(
    '/api/dify/conversations/:id/variables',
    {
      config: DIFY_ACCESS,
      schema: { ...schema('An own conversation’s variables'), params: IdParams, querystring: VariablesQuery },
    },
    async (request) => {
      const caller = callerOf(request);
      const conversation = await dify.ownConversation(caller, request.params.id);
      const query: Record<string, string> = { user: user(caller.userId) };
      for (const name of ['last_id', 'limit', 'variable_name'] as const)
        if (request.query[name] !== undefined) query[name] = String(request.query[name]);
      const answer = await dify.sendForJson<{ data?: Array<{ name?: string; value?: unknown }> }>(
        dify.appOf(conversation.channel_id, caller.key),
        {
          method: 'GET',
          path: `/conversations/${conversation.id}/variables`,
          query,
        },
      );
      const variables = Object.fromEntries(
        (answer.body.data ?? []).filter((v) => typeof v.name === 'string').map((v) => [v.name!, v.value]),
      );
      return { ...answer.body, variables };
    },
  );

  app.post(
    '/api/dify/messages/:id/feedbacks',
    {
      config: DIFY_ACCESS,
      schema: {
        ...schema('Like or dislike an own message (null takes it back)'),
        params: IdParams,
        body: FeedbackBody,
      },
    },
    async (request) => {
      const caller = callerOf(request);
      const message = await dify.ownMessage(caller, request.params.id);
      const json: Record<string, unknown> = { rating: request.body.rating, user: user(caller.userId) };
      if (request.body.content !== undefined) json.content = request.body.content;
      await dify.sendForJson(dify.appOf(message.channel_id, caller.key), {
        method: 'POST',
        path: `/messages/${message.id}/feedbacks`,
        body: { json },
      });
      await dify.records.rate(message.id, request.body.rating);
      return { result: 'success', success: true, message: say(langOf(request), 'FEEDBACK_SAVED') };
    },
  );

  app.get(
    '/api/dify/messages/:id/feedback-stats',
    {
      config: DIFY_ACCESS,
      schema: { ...schema('Likes and dislikes of an own message, from Tollgate’s records'), params: IdParams },
    },
    async (request) => {
      const message = await dify.ownMessage(callerOf(request), request.params.id);
      return dify.records.ratings(message.id);
    },
  );

  app.get(
    '/api/dify/messages/:id/suggested',
    {
      config: DIFY_ACCESS,
      schema: { ...schema('Suggested next questions after an own message, as [{question}]'), params: IdParams },
    },
    async (request, reply) => {
      const caller = callerOf(request);
      const message = await dify.ownMessage(caller, request.params.id);
      const channel = dify.appOf(message.channel_id, caller.key);
      const answer = await meterFlat(deps, caller, channel, 'suggested', reply, () =>
        dify.sendForJson<{ data?: unknown[] }>(channel, {
          method: 'GET',
          path: `/messages/${message.id}/suggested`,
          query: { user: user(caller.userId) },
        }),
      );
      const questions = (answer.body.data ?? []).map((q) => (typeof q === 'string' ? { question: q } : q));
      return { result: 'success', data: questions };
    },
  );
}

/**
 * Conversation and message endpoints (dify-api.md §4): history, the conversation list, delete,
 * rename, variables, feedback (per message and app-wide) and suggested questions. Every lookup is
 * scoped to the request's end user: anyone else's conversation or message is a 404.
 */
import { randomUUID } from 'node:crypto';
import { intQuery, json, uuidQuery, type Outcome, type RouteContext } from './context.ts';
import { difyErrors, fail, validationError } from './errors.ts';
import { NAME_LENGTH } from './generation.ts';
import {
  conversationView,
  feedbackView,
  messageView,
  variablesOf,
  type FakeDifyConversation,
  type FakeDifyMessage,
} from './store.ts';

function ownConversation(ctx: RouteContext, id: string): FakeDifyConversation {
  const conversation = ctx.store.conversation(ctx.app.key, ctx.endUser().id, id.toLowerCase());
  if (!conversation) throw difyErrors.notFound('Conversation Not Exists.');
  return conversation;
}

function ownMessage(ctx: RouteContext, id: string): FakeDifyMessage {
  const message = ctx.store.message(ctx.app.key, ctx.endUser().id, id.toLowerCase());
  if (!message) throw difyErrors.notFound('Message Not Exists.');
  return message;
}

/** GET /messages: the newest `limit` messages older than first_id, returned oldest first. */
export function listMessages(ctx: RouteContext): Outcome {
  const model = 'MessageListQuery';
  const conversationId = uuidQuery(ctx, model, 'conversation_id');
  if (conversationId === undefined) throw validationError(model, 'conversation_id', 'Field required [type=missing]');
  const firstId = uuidQuery(ctx, model, 'first_id');
  const limit = intQuery(ctx, model, 'limit', 20, 1, 100);
  const conversation = ownConversation(ctx, conversationId);
  const all = ctx.store.messagesIn(conversation.id);
  let older = all;
  if (firstId !== undefined) {
    const at = all.findIndex((m) => m.id === firstId);
    if (at === -1) throw difyErrors.notFound('First Message Not Exists.');
    older = all.slice(0, at);
  }
  const page = older.slice(Math.max(0, older.length - limit));
  return json({ limit, has_more: older.length > limit, data: page.map(messageView) });
}

type SortKey = 'created_at' | '-created_at' | 'updated_at' | '-updated_at';
const SORTS: readonly SortKey[] = ['created_at', '-created_at', 'updated_at', '-updated_at'];

export function sortConversations(list: FakeDifyConversation[], sort: SortKey): FakeDifyConversation[] {
  const field = sort.endsWith('created_at') ? 'seq' : 'touched';
  const sign = sort.startsWith('-') ? -1 : 1;
  return [...list].sort((a, b) => sign * (a[field] - b[field]));
}

/** GET /conversations: this end user's conversations after `last_id`, in `sort_by` order. */
export function listConversations(ctx: RouteContext): Outcome {
  const model = 'ConversationListQuery';
  const lastId = uuidQuery(ctx, model, 'last_id');
  const limit = intQuery(ctx, model, 'limit', 20, 1, 100);
  const sort = (ctx.query.sort_by ?? '-updated_at') as SortKey;
  if (!SORTS.includes(sort))
    throw validationError(
      model,
      'sort_by',
      "Input should be 'created_at', '-created_at', 'updated_at' or '-updated_at' [type=literal_error]",
    );
  let list = sortConversations(ctx.store.conversationsOf(ctx.app.key, ctx.endUser().id), sort);
  if (lastId !== undefined) {
    const at = list.findIndex((c) => c.id === lastId);
    if (at === -1) throw difyErrors.notFound('Last Conversation Not Exists.');
    list = list.slice(at + 1);
  }
  return json({ limit, has_more: list.length > limit, data: list.slice(0, limit).map(conversationView) });
}

/** DELETE /conversations/:id: a soft delete, 204 with no body. */
export function deleteConversation(ctx: RouteContext): Outcome {
  ownConversation(ctx, ctx.params[0]!).deleted = true;
  return { kind: 'no-content' };
}

/** POST /conversations/:id/name: `name`, or `auto_generate` (the first 20 characters of the first query). */
export function renameConversation(ctx: RouteContext): Outcome {
  const model = 'ConversationRenamePayload';
  const { name, auto_generate: auto } = ctx.body;
  if (auto !== undefined && typeof auto !== 'boolean')
    throw validationError(model, 'auto_generate', 'Input should be a valid boolean [type=bool_type]');
  if (name !== undefined && name !== null && typeof name !== 'string')
    throw validationError(model, 'name', 'Input should be a valid string [type=string_type]');
  if (auto !== true && (typeof name !== 'string' || name.trim() === ''))
    throw validationError(model, '', 'Value error, name is required when auto_generate is false [type=value_error]');
  const conversation = ownConversation(ctx, ctx.params[0]!);
  if (auto === true) {
    const first = ctx.store.messagesIn(conversation.id)[0];
    if (!first) throw difyErrors.invalidParam('Conversation has no message to name it after.');
    conversation.name = first.query.slice(0, NAME_LENGTH);
  } else {
    conversation.name = name as string;
  }
  ctx.store.touch(conversation);
  return json(conversationView(conversation));
}

/** GET /conversations/:id/variables: two variables per conversation, paged by last_id. */
export function conversationVariables(ctx: RouteContext): Outcome {
  const model = 'ConversationVariablesQuery';
  const lastId = uuidQuery(ctx, model, 'last_id');
  const limit = intQuery(ctx, model, 'limit', 20, 1, 100);
  const filter = ctx.query.variable_name;
  if (filter !== undefined && !/^[A-Za-z0-9._-]+$/.test(filter)) {
    throw validationError(
      model,
      'variable_name',
      'Value error, Variable name can only contain letters, numbers, hyphens (-), underscores (_), and periods (.) [type=value_error]',
    );
  }
  const conversation = ownConversation(ctx, ctx.params[0]!);
  let list = variablesOf(conversation, ctx.store.messagesIn(conversation.id));
  if (filter !== undefined) list = list.filter((v) => v.name === filter);
  if (lastId !== undefined) {
    const at = list.findIndex((v) => v.id === lastId);
    if (at === -1) throw difyErrors.invalidParam('Last variable not found.');
    list = list.slice(at + 1);
  }
  return json({ limit, has_more: list.length > limit, data: list.slice(0, limit) });
}

/** POST /messages/:id/feedbacks: like, dislike, or null to revoke. */
export function messageFeedback(ctx: RouteContext): Outcome {
  const model = 'MessageFeedbackPayload';
  const { rating, content } = ctx.body;
  if (rating !== undefined && rating !== null && rating !== 'like' && rating !== 'dislike')
    throw validationError(model, 'rating', "Input should be 'like' or 'dislike' [type=enum]");
  if (content !== undefined && content !== null && typeof content !== 'string')
    throw validationError(model, 'content', 'Input should be a valid string [type=string_type]');
  const message = ownMessage(ctx, ctx.params[0]!);
  if (rating === undefined || rating === null) {
    if (!message.feedback) throw difyErrors.invalidParam('rating cannot be None when feedback not exists');
    message.feedback = null;
  } else {
    const now = new Date().toISOString();
    const text = typeof content === 'string' ? content : null;
    message.feedback = message.feedback
      ? { ...message.feedback, rating, content: text, updatedAt: now, seq: ctx.store.tick() }
      : { id: randomUUID(), rating, content: text, createdAt: now, updatedAt: now, seq: ctx.store.tick() };
  }
  return json({ result: 'success' });
}

/** GET /app/feedbacks: every feedback of the app (not user scoped), newest first. */
export function appFeedbacks(ctx: RouteContext): Outcome {
  const model = 'FeedbackListQuery';
  const page = intQuery(ctx, model, 'page', 1, 1, 99999);
  const limit = intQuery(ctx, model, 'limit', 20, 1, 101);
  const rated = [...ctx.store.messages.values()].filter((m) => m.appKey === ctx.app.key && m.feedback !== null);
  rated.sort((a, b) => b.feedback!.seq - a.feedback!.seq);
  return json({ data: rated.slice((page - 1) * limit, page * limit).map((m) => feedbackView(m, ctx.app)) });
}

/** GET /messages/:id/suggested: three follow-up questions (400 when the app has them off). */
export function suggestedQuestions(ctx: RouteContext): Outcome {
  if (!ctx.app.suggested) throw fail(400, 'bad_request', 'Suggested Questions Is Disabled.');
  const message = ownMessage(ctx, ctx.params[0]!);
  const topic = message.query.trim().split(/\s+/).slice(0, 3).join(' ') || 'this';
  return json({
    result: 'success',
    data: [`Can you tell me more about ${topic}?`, 'Can you give an example?', 'What should I ask next?'],
  });
}

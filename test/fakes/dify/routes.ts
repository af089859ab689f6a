/**
 * The route table of FakeDify: for each endpoint under /v1, where it reads `user` from (dify-api.md
 * §1.3), which app modes it serves (§1.4) and its handler. Paths with a `<uuid:…>` converter in
 * Dify only match a UUID (anything else is Flask's 404).
 */
import { appInfo, appMeta, appParameters, appSite, CHAT_MODES, type FakeDifyApp } from './apps.ts';
import { json, type Outcome, type RouteContext } from './context.ts';
import {
  appFeedbacks,
  conversationVariables,
  deleteConversation,
  listConversations,
  listMessages,
  messageFeedback,
  renameConversation,
  suggestedQuestions,
} from './conversations.ts';
import { difyErrors } from './errors.ts';
import { chatMessages, completionMessages, runWorkflow } from './generation.ts';
import { audioToText, textToAudio, uploadFile } from './media.ts';
import { runView } from './store.ts';

/** Where a route reads `user`; `-required` ones answer 400 "Arg user must be provided." without it. */
export type UserSource = 'json' | 'json-required' | 'query' | 'query-required' | 'form' | 'none';
/** Which app modes a route serves. */
export type Gate = 'any' | 'chat' | 'completion' | 'workflow' | 'workflow-or-chatflow';
type Method = 'GET' | 'POST' | 'DELETE';

export interface Route {
  method: Method;
  pattern: RegExp;
  /** The body the route reads: JSON (an object is required), multipart, or none. */
  body: 'json' | 'form' | 'none';
  user: UserSource;
  gate: Gate;
  /** A stop endpoint: its calls are recorded in `fake.stops`. */
  stop?: boolean;
  handle(ctx: RouteContext): Outcome;
}

const UUID = '([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})';
const SEGMENT = '([^/]+)';

function route(
  method: Method,
  path: string,
  body: Route['body'],
  user: UserSource,
  gate: Gate,
  handle: Route['handle'],
  stop = false,
): Route {
  const pattern = new RegExp(`^${path.replace(/:uuid/g, UUID).replace(/:id/g, SEGMENT)}$`);
  return { method, pattern, body, user, gate, handle, ...(stop ? { stop } : {}) };
}

/** Stops a running stream; chat and completion stops only reach the caller's own tasks. */
const stopTask = (checkOwner: boolean) => (ctx: RouteContext) => {
  ctx.stop(ctx.params[0]!, checkOwner ? ctx.endUser().id : undefined);
  return json({ result: 'success' });
};

function workflowRun(ctx: RouteContext): Outcome {
  const run = ctx.store.runs.get(ctx.params[0]!.toLowerCase());
  if (!run || run.appKey !== ctx.app.key) throw difyErrors.notFound('Workflow run not found.');
  return json(runView(run));
}

export const ROUTES: readonly Route[] = [
  route('POST', '/chat-messages', 'json', 'json-required', 'chat', chatMessages),
  route('POST', '/chat-messages/:id/stop', 'json', 'json-required', 'chat', stopTask(true), true),
  route('POST', '/completion-messages', 'json', 'json-required', 'completion', completionMessages),
  route('POST', '/completion-messages/:id/stop', 'json', 'json-required', 'completion', stopTask(true), true),
  route('POST', '/workflows/run', 'json', 'json-required', 'workflow', runWorkflow),
  route('GET', '/workflows/run/:id', 'none', 'none', 'workflow-or-chatflow', workflowRun),
  route('POST', '/workflows/tasks/:id/stop', 'json', 'json-required', 'workflow', stopTask(false), true),
  route('GET', '/messages', 'none', 'query', 'chat', listMessages),
  route('POST', '/messages/:uuid/feedbacks', 'json', 'json-required', 'any', messageFeedback),
  route('GET', '/messages/:uuid/suggested', 'none', 'query-required', 'chat', suggestedQuestions),
  route('GET', '/conversations', 'none', 'query', 'chat', listConversations),
  route('DELETE', '/conversations/:uuid', 'json', 'json', 'chat', deleteConversation),
  route('POST', '/conversations/:uuid/name', 'json', 'json', 'chat', renameConversation),
  route('GET', '/conversations/:uuid/variables', 'none', 'query', 'chat', conversationVariables),
  route('GET', '/app/feedbacks', 'none', 'none', 'any', appFeedbacks),
  route('GET', '/parameters', 'none', 'none', 'any', (ctx) => json(appParameters(ctx.app))),
  route('GET', '/meta', 'none', 'none', 'any', (ctx) => json(appMeta(ctx.app))),
  route('GET', '/info', 'none', 'none', 'any', (ctx) => json(appInfo(ctx.app))),
  route('GET', '/site', 'none', 'none', 'any', (ctx) => json(appSite(ctx.app))),
  route('POST', '/files/upload', 'form', 'form', 'any', uploadFile),
  route('POST', '/audio-to-text', 'form', 'form', 'any', audioToText),
  route('POST', '/text-to-audio', 'json', 'json', 'any', textToAudio),
];

/** The route for `path` (below /v1), `method-not-allowed` when only another method has it, or undefined. */
export function matchRoute(
  method: string,
  path: string,
): { route: Route; params: string[] } | 'method-not-allowed' | undefined {
  let pathMatched = false;
  for (const candidate of ROUTES) {
    const match = candidate.pattern.exec(path);
    if (!match) continue;
    if (candidate.method === method) return { route: candidate, params: match.slice(1) };
    pathMatched = true;
  }
  return pathMatched ? 'method-not-allowed' : undefined;
}

/** Throws the mode-mismatch error of the route family when the app's mode is not served. */
export function checkGate(gate: Gate, app: FakeDifyApp): void {
  switch (gate) {
    case 'any':
      return;
    case 'chat':
      if (!CHAT_MODES.has(app.mode)) throw difyErrors.notChatApp();
      return;
    case 'completion':
      if (app.mode !== 'completion') throw difyErrors.appUnavailable();
      return;
    case 'workflow':
      if (app.mode !== 'workflow') throw difyErrors.notWorkflowApp();
      return;
    case 'workflow-or-chatflow':
      if (app.mode !== 'workflow' && app.mode !== 'advanced-chat') throw difyErrors.notWorkflowApp();
      return;
  }
}

/**
 * FakeDify's state: end users, conversations, messages (with feedback), uploaded files and
 * workflow runs, kept the way Dify keys them (dify-api.md §1.3): an end user is (app, `user`
 * string); conversations belong to one end user of one app and are soft-deleted. Timestamps are
 * Unix seconds; `seq` (a counter) breaks ties, so orders and cursors stay stable within a second.
 */
import { randomUUID } from 'node:crypto';
import type { FakeDifyApp } from './apps.ts';
import type { Inputs } from './content.ts';

/** The shared end user of requests without `user`. */
export const DEFAULT_USER = 'DEFAULT-USER';

export interface FakeDifyEndUser {
  id: string;
  appKey: string;
  /** The `user` string the developer sent (`DEFAULT-USER` when none). */
  sessionId: string;
  isAnonymous: boolean;
}

export interface FakeDifyConversation {
  id: string;
  appKey: string;
  endUserId: string;
  user: string;
  name: string;
  inputs: Inputs;
  status: 'normal';
  deleted: boolean;
  createdAt: number;
  updatedAt: number;
  /** Creation order (ties within a second). */
  seq: number;
  /** Order of the last change (ties within a second). */
  touched: number;
}

export type FeedbackRating = 'like' | 'dislike';

export interface FakeDifyFeedback {
  id: string;
  rating: FeedbackRating;
  content: string | null;
  createdAt: string;
  updatedAt: string;
  seq: number;
}

export interface FakeDifyMessageFile {
  id: string;
  filename: string;
  type: string;
  url: string | null;
  mime_type: string;
  size: number;
  transfer_method: string;
  belongs_to: 'user';
  upload_file_id: string | null;
}

export interface FakeDifyMessage {
  id: string;
  appKey: string;
  /** Null for completion apps, whose messages live outside any listed conversation. */
  conversationId: string | null;
  endUserId: string;
  user: string;
  parentMessageId: string | null;
  taskId: string;
  inputs: Inputs;
  query: string;
  /** The answer as it stands: the whole one once the generation ended, what was produced when cut short. */
  answer: string;
  status: 'normal' | 'error';
  error: string | null;
  /** An agent app's one thought (its final answer), shown in agent_thoughts. */
  agentThought: { id: string; thought: string } | null;
  files: FakeDifyMessageFile[];
  feedback: FakeDifyFeedback | null;
  promptTokens: number;
  completionTokens: number;
  totalPrice: string;
  latency: number;
  createdAt: number;
  seq: number;
}

export interface FakeDifyUpload {
  id: string;
  appKey: string;
  endUserId: string;
  name: string;
  size: number;
  extension: string;
  mimeType: string;
  createdAt: number;
}

export type WorkflowRunStatus = 'running' | 'succeeded' | 'failed' | 'stopped';

export interface FakeDifyWorkflowRun {
  id: string;
  appKey: string;
  workflowId: string;
  taskId: string;
  endUserId: string;
  status: WorkflowRunStatus;
  inputs: Inputs;
  outputs: Record<string, unknown>;
  error: string | null;
  totalTokens: number;
  totalSteps: number;
  createdAt: number;
  finishedAt: number | null;
  elapsedTime: number;
}

export const nowSeconds = () => Math.floor(Date.now() / 1000);

export class DifyStore {
  readonly endUsers = new Map<string, FakeDifyEndUser>();
  readonly conversations = new Map<string, FakeDifyConversation>();
  readonly messages = new Map<string, FakeDifyMessage>();
  readonly uploads = new Map<string, FakeDifyUpload>();
  readonly runs = new Map<string, FakeDifyWorkflowRun>();
  private clock = 0;

  tick(): number {
    return ++this.clock;
  }

  clear(): void {
    this.endUsers.clear();
    this.conversations.clear();
    this.messages.clear();
    this.uploads.clear();
    this.runs.clear();
  }

  /** The end user of `sessionId` in the app, created on first sight as Dify does. */
  endUser(app: FakeDifyApp, sessionId: string): FakeDifyEndUser {
    const key = `${app.key}\n${sessionId}`;
    let user = this.endUsers.get(key);
    if (!user) {
      user = { id: randomUUID(), appKey: app.key, sessionId, isAnonymous: sessionId === DEFAULT_USER };
      this.endUsers.set(key, user);
    }
    return user;
  }

  findEndUser(appKey: string, sessionId: string): FakeDifyEndUser | undefined {
    return this.endUsers.get(`${appKey}\n${sessionId}`);
  }

  createConversation(app: FakeDifyApp, user: FakeDifyEndUser, inputs: Inputs): FakeDifyConversation {
    const now = nowSeconds();
    const seq = this.tick();
    const conversation: FakeDifyConversation = {
      id: randomUUID(),
      appKey: app.key,
      endUserId: user.id,
      user: user.sessionId,
      name: 'New conversation',
      inputs,
      status: 'normal',
      deleted: false,
      createdAt: now,
      updatedAt: now,
      seq,
      touched: seq,
    };
    this.conversations.set(conversation.id, conversation);
    return conversation;
  }

  touch(conversation: FakeDifyConversation): void {
    conversation.updatedAt = nowSeconds();
    conversation.touched = this.tick();
  }

  /** The conversation if it is this end user's in this app and not deleted; else undefined (a 404). */
  conversation(appKey: string, endUserId: string, id: string): FakeDifyConversation | undefined {
    const conversation = this.conversations.get(id);
    return conversation &&
      !conversation.deleted &&
      conversation.appKey === appKey &&
      conversation.endUserId === endUserId
      ? conversation
      : undefined;
  }

  conversationsOf(appKey: string, endUserId: string): FakeDifyConversation[] {
    return [...this.conversations.values()].filter(
      (c) => !c.deleted && c.appKey === appKey && c.endUserId === endUserId,
    );
  }

  addMessage(message: Omit<FakeDifyMessage, 'seq' | 'createdAt'>): FakeDifyMessage {
    const stored: FakeDifyMessage = { ...message, createdAt: nowSeconds(), seq: this.tick() };
    this.messages.set(stored.id, stored);
    return stored;
  }

  /** Messages of a conversation, oldest first. */
  messagesIn(conversationId: string): FakeDifyMessage[] {
    return [...this.messages.values()].filter((m) => m.conversationId === conversationId).sort((a, b) => a.seq - b.seq);
  }

  /** The message if it is this end user's in this app (Dify 404s anyone else's). */
  message(appKey: string, endUserId: string, id: string): FakeDifyMessage | undefined {
    const message = this.messages.get(id);
    return message && message.appKey === appKey && message.endUserId === endUserId ? message : undefined;
  }
}

export function conversationView(c: FakeDifyConversation) {
  return {
    id: c.id,
    name: c.name,
    inputs: c.inputs,
    status: c.status,
    introduction: '',
    created_at: c.createdAt,
    updated_at: c.updatedAt,
  };
}

export function messageView(m: FakeDifyMessage) {
  return {
    id: m.id,
    conversation_id: m.conversationId,
    parent_message_id: m.parentMessageId,
    inputs: m.inputs,
    query: m.query,
    answer: m.answer,
    status: m.status,
    error: m.error,
    message_files: m.files,
    feedback: m.feedback ? { rating: m.feedback.rating } : null,
    retriever_resources: [],
    agent_thoughts:
      m.agentThought === null
        ? []
        : [
            {
              id: m.agentThought.id,
              chain_id: null,
              message_id: m.id,
              position: 1,
              thought: m.agentThought.thought,
              tool: '',
              tool_labels: {},
              tool_input: '',
              observation: '',
              files: [],
              created_at: m.createdAt,
            },
          ],
    created_at: m.createdAt,
    message_tokens: m.promptTokens,
    answer_tokens: m.completionTokens,
    total_tokens: m.promptTokens + m.completionTokens,
    provider_response_latency: m.latency,
    total_price: m.totalPrice,
    currency: 'USD',
  };
}

/** Each conversation has two variables, filled from its messages. */
export function variablesOf(c: FakeDifyConversation, messages: FakeDifyMessage[]) {
  const updated = messages.at(-1)?.createdAt ?? c.createdAt;
  const variable = (name: string, valueType: string, value: string, description: string) => ({
    id: `${c.id.slice(0, 24)}${name === 'topic' ? '000000000001' : '000000000002'}`,
    name,
    value_type: valueType,
    value,
    description,
    created_at: c.createdAt,
    updated_at: updated,
  });
  return [
    variable('topic', 'string', messages[0]?.query ?? '', 'The first question of the conversation'),
    variable('turns', 'number', String(messages.length), 'How many messages the conversation holds'),
  ];
}

export function feedbackView(m: FakeDifyMessage, app: FakeDifyApp) {
  const feedback = m.feedback!;
  return {
    id: feedback.id,
    app_id: app.id,
    conversation_id: m.conversationId,
    message_id: m.id,
    rating: feedback.rating,
    content: feedback.content,
    from_source: 'user',
    from_end_user_id: m.endUserId,
    from_account_id: null,
    created_at: feedback.createdAt,
    updated_at: feedback.updatedAt,
  };
}

export function uploadView(u: FakeDifyUpload, app: FakeDifyApp, origin: string) {
  return {
    id: u.id,
    name: u.name,
    size: u.size,
    extension: u.extension,
    mime_type: u.mimeType,
    created_by: u.endUserId,
    created_at: u.createdAt,
    preview_url: null,
    source_url: `${origin}/files/${u.id}/file-preview?timestamp=${u.createdAt}&nonce=fake&sign=fake`,
    original_url: null,
    user_id: null,
    tenant_id: app.tenantId,
    conversation_id: null,
    file_key: null,
    reference: null,
  };
}

export function runView(r: FakeDifyWorkflowRun) {
  return {
    id: r.id,
    workflow_id: r.workflowId,
    status: r.status,
    inputs: JSON.stringify(r.inputs),
    outputs: r.outputs,
    error: r.error,
    total_steps: r.totalSteps,
    total_tokens: r.totalTokens,
    created_at: r.createdAt,
    finished_at: r.finishedAt,
    elapsed_time: r.elapsedTime,
  };
}

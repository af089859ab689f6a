import { api } from './client.ts';
import { postStream } from './sse.ts';

/** The Dify chat of seed 002 over /api/dify/* (docs/dify.md). */
export interface DifyConversation {
  id: string;
  name: string;
  created_at: string;
  updated_at: string;
}

export interface DifyMessage {
  id: string;
  message_id: string;
  conversation_id: string;
  role: 'user' | 'assistant';
  content: string;
  status?: string;
  feedback?: { rating: 'like' | 'dislike' | null } | null;
}

export interface DifyParameters {
  opening_statement?: string;
  suggested_questions?: string[];
  suggested_questions_after_answer?: { enabled?: boolean };
}

export interface DifyInfo {
  name?: string;
  description?: string;
}

export interface DifyUsage {
  prompt_tokens?: number;
  completion_tokens?: number;
}

export type Rating = 'like' | 'dislike' | null;

export const DIFY_CONVERSATIONS_KEY = ['dify-conversations'] as const;

export const difyApi = {
  conversations: () =>
    api<{ data: DifyConversation[]; has_more: boolean }>('/api/dify/conversations', { query: { limit: 100 } }),
  messages: (id: string) => api<{ data: DifyMessage[] }>(`/api/dify/conversations/${encodeURIComponent(id)}/messages`),
  rename: (id: string, name: string) =>
    api(`/api/dify/conversations/${encodeURIComponent(id)}/name`, { method: 'POST', body: { name } }),
  remove: (id: string) => api(`/api/dify/conversations/${encodeURIComponent(id)}`, { method: 'DELETE' }),
  feedback: (messageId: string, rating: Rating) =>
    api(`/api/dify/messages/${encodeURIComponent(messageId)}/feedbacks`, { method: 'POST', body: { rating } }),
  suggested: (messageId: string) =>
    api<{ data: Array<{ question: string }> }>(`/api/dify/messages/${encodeURIComponent(messageId)}/suggested`),
  parameters: () => api<DifyParameters>('/api/dify/parameters'),
  info: () => api<DifyInfo>('/api/dify/info'),
};

/** What a Dify chat stream tells as it goes. */
export interface DifyHandlers {
  signal: AbortSignal;
  onText: (text: string) => void;
  onReplace: (text: string) => void;
  onIds: (ids: { conversationId?: string; messageId?: string }) => void;
  onEnd: (usage: DifyUsage | undefined) => void;
  onError: (message: string) => void;
}

interface DifyEvent {
  event?: string;
  answer?: string;
  conversation_id?: string;
  message_id?: string;
  id?: string;
  message?: string;
  metadata?: { usage?: DifyUsage };
}

/**
 * Streams a chat message (Dify's SSE: `message`/`agent_message` pieces, `message_replace`,
 * `message_end` with usage, `error`; `ping` and the rest are read past).
 */
export function streamDifyChat(
  request: { query: string; conversation_id?: string },
  handlers: DifyHandlers,
): Promise<void> {
  const body = { ...request, inputs: {}, response_mode: 'streaming' };
  return postStream('/api/dify/chat-messages', body, {
    signal: handlers.signal,
    onEvent: ({ data }) => {
      let event: DifyEvent;
      try {
        event = JSON.parse(data) as DifyEvent;
      } catch {
        return;
      }
      const ids = { conversationId: event.conversation_id, messageId: event.message_id ?? event.id };
      switch (event.event) {
        case 'message':
        case 'agent_message':
          handlers.onIds(ids);
          if (event.answer) handlers.onText(event.answer);
          return;
        case 'message_replace':
          return handlers.onReplace(event.answer ?? '');
        case 'message_end':
          handlers.onIds(ids);
          return handlers.onEnd(event.metadata?.usage);
        case 'error':
          return handlers.onError(event.message ?? 'error');
        default:
          return; // ping, workflow and node events, tts: nothing to show
      }
    },
  });
}

import { api } from './client.ts';
import { postStream } from './sse.ts';

/** A model the signed-in user may chat with in the playground, and its price (GET /api/playground/models). */
export interface PlaygroundModel {
  model: string;
  input: number;
  output: number;
  perRequest: number;
  maxOutputTokens: number | null;
}

/** The last event of a playground stream (`tollgate.bill`): what the call used and was charged. */
export interface PlaygroundBill {
  request_id: string;
  prompt_tokens: number;
  completion_tokens: number;
  credits: number;
  usage_source: 'upstream' | 'estimated' | 'none';
}

export interface PlaygroundRequest {
  model: string;
  messages: Array<{ role: 'system' | 'user' | 'assistant'; content: string }>;
  temperature: number;
  max_tokens?: number;
}

export const PLAYGROUND_MODELS_KEY = ['playground-models'] as const;

export const fetchPlaygroundModels = () => api<{ items: PlaygroundModel[] }>('/api/playground/models');

/** What a playground stream tells as it goes. */
export interface PlaygroundHandlers {
  signal: AbortSignal;
  onText: (text: string) => void;
  onBill: (bill: PlaygroundBill) => void;
  onError: (message: string) => void;
}

interface Chunk {
  choices?: Array<{ delta?: { content?: string | null } }>;
  error?: { message?: string };
}

/** Streams a playground chat: OpenAI's chunks, an in-band error, then Tollgate's bill (docs/console.md). */
export function streamPlayground(request: PlaygroundRequest, handlers: PlaygroundHandlers): Promise<void> {
  const body = { ...request, stream: true, stream_options: { include_usage: true } };
  return postStream('/api/playground/chat/completions', body, {
    signal: handlers.signal,
    onEvent: ({ event, data }) => {
      if (event === 'tollgate.bill') return handlers.onBill(JSON.parse(data) as PlaygroundBill);
      if (data === '[DONE]') return;
      const chunk = JSON.parse(data) as Chunk;
      if (chunk.error) return handlers.onError(chunk.error.message ?? 'error');
      const text = chunk.choices?.[0]?.delta?.content;
      if (text) handlers.onText(text);
    },
  });
}

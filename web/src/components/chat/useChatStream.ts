import { useCallback, useEffect, useRef, useState } from 'react';
import { ApiError } from '@/api/client.ts';
import type { ChatMessage } from './types.ts';

/** What a page's stream does to the answer being written. */
export interface StreamTurn<M> {
  signal: AbortSignal;
  /** Text that arrived. */
  append: (text: string) => void;
  /** The whole answer replaced (Dify's message_replace). */
  replace: (text: string) => void;
  /** The page's own data about the answer. */
  meta: (patch: Partial<M>) => void;
  /** An error event in the stream: shown in place of (or after) what arrived. */
  fail: (message: string) => void;
}

let counter = 0;
const newId = () => `local-${Date.now().toString(36)}-${(counter += 1)}`;

/**
 * The messages of a streaming chat: `send` adds the question and an answer that `run` fills as its
 * stream arrives; `stop` aborts the request (the server bills what was made), `clear` forgets all.
 */
export function useChatStream<M = unknown>() {
  const [messages, setMessages] = useState<ChatMessage<M>[]>([]);
  const [streaming, setStreaming] = useState(false);
  const controller = useRef<AbortController | null>(null);
  useEffect(() => () => controller.current?.abort(), []);

  const send = useCallback(async (text: string, run: (turn: StreamTurn<M>) => Promise<void>) => {
    const answerId = newId();
    const update = (change: (m: ChatMessage<M>) => ChatMessage<M>) =>
      setMessages((all) => all.map((m) => (m.id === answerId ? change(m) : m)));
    setMessages((all) => [
      ...all,
      { id: newId(), role: 'user', content: text },
      { id: answerId, role: 'assistant', content: '', streaming: true },
    ]);
    const abort = new AbortController();
    controller.current = abort;
    setStreaming(true);
    const turn: StreamTurn<M> = {
      signal: abort.signal,
      append: (piece) => update((m) => ({ ...m, content: m.content + piece })),
      replace: (whole) => update((m) => ({ ...m, content: whole })),
      meta: (patch) => update((m) => ({ ...m, meta: { ...m.meta, ...patch } as M })),
      fail: (message) => update((m) => ({ ...m, error: { message } })),
    };
    try {
      await run(turn);
    } catch (error) {
      const status = error instanceof ApiError ? error.status : undefined;
      update((m) => ({ ...m, error: { message: (error as Error).message, status } }));
    } finally {
      update((m) => ({ ...m, streaming: false, stopped: abort.signal.aborted }));
      if (controller.current === abort) controller.current = null;
      setStreaming(false);
    }
  }, []);

  const stop = useCallback(() => controller.current?.abort(), []);
  const clear = useCallback(() => {
    controller.current?.abort();
    setMessages([]);
  }, []);

  return { messages, setMessages, streaming, send, stop, clear };
}

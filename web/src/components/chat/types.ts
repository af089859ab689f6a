/** A message of a streaming chat; `meta` is what the page shows under an answer (tokens and cost, feedback…). */
export interface ChatMessage<M = unknown> {
  id: string;
  role: 'user' | 'assistant';
  content: string;
  /** The answer is still arriving. */
  streaming?: boolean;
  /** Stopped by the user before it ended. */
  stopped?: boolean;
  /** Why the answer failed: a refused request (its HTTP status) or an error event in the stream. */
  error?: { message: string; status?: number };
  meta?: M;
}

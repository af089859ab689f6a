/** What a client made of an SSE chat stream it received. */
export interface ReadStream {
  /** `data:` events, `[DONE]` included. */
  events: number;
  /** The content text of every chunk (what the user saw). */
  content: string;
  sawDone: boolean;
  /** The message of an in-band `{"error":…}` event, if one came. */
  error: string | undefined;
  /** Events whose data was neither JSON nor `[DONE]` (passed through from a broken upstream). */
  malformed: number;
  usage: { prompt_tokens: number; completion_tokens: number } | undefined;
}

interface Chunk {
  choices?: Array<{ delta?: { content?: string | null } }>;
  usage?: { prompt_tokens: number; completion_tokens: number } | null;
  error?: { message?: string };
}

export function readStream(text: string): ReadStream {
  const read: ReadStream = { events: 0, content: '', sawDone: false, error: undefined, malformed: 0, usage: undefined };
  for (const event of text.split(/\r?\n\r?\n/)) {
    const data = event
      .split(/\r?\n/)
      .filter((line) => line.startsWith('data:'))
      .map((line) => line.slice(line.startsWith('data: ') ? 6 : 5))
      .join('\n');
    if (!data) continue;
    read.events += 1;
    if (data.trim() === '[DONE]') {
      read.sawDone = true;
      continue;
    }
    let chunk: Chunk;
    try {
      chunk = JSON.parse(data) as Chunk;
    } catch {
      read.malformed += 1;
      continue;
    }
    if (chunk.error) read.error = chunk.error.message ?? 'error';
    if (chunk.usage) read.usage = chunk.usage;
    for (const choice of chunk.choices ?? []) read.content += choice.delta?.content ?? '';
  }
  return read;
}

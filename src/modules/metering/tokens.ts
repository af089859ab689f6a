import { countTokens } from 'gpt-tokenizer';

/** What a request's prompt is made of, as far as counting goes. */
type Content = string | Array<{ type?: string; text?: string }> | null | undefined;

export interface ChatMessageLike {
  role?: unknown;
  content?: unknown;
  name?: unknown;
  tool_calls?: unknown;
}

function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content))
    return (content as Exclude<Content, string | null | undefined>)
      .map((part) => (typeof part?.text === 'string' ? part.text : ''))
      .join('');
  return '';
}

/** A legacy completion prompt (string, strings, or token arrays) as text. */
function promptText(prompt: unknown): string {
  if (typeof prompt === 'string') return prompt;
  if (Array.isArray(prompt)) return prompt.map((p) => (typeof p === 'string' ? p : JSON.stringify(p))).join('');
  return prompt === undefined ? '' : JSON.stringify(prompt);
}

function imagePartsOf(content: unknown): number {
  return Array.isArray(content)
    ? content.filter((p: { type?: string }) => p?.type === 'image_url' || p?.type === 'input_image').length
    : 0;
}

/**
 * A quick upper-bound guess of a prompt's tokens for the hold, without tokenizing: one token per three
 * UTF-8 bytes (English runs about four), plus per-message overhead and 85 per image part.
 */
export function guessPromptTokens(messages: readonly ChatMessageLike[] | undefined, prompt?: unknown): number {
  let bytes = 0;
  let images = 0;
  for (const message of messages ?? []) {
    bytes += Buffer.byteLength(textOf(message.content)) + 8;
    if (message.tool_calls) bytes += Buffer.byteLength(JSON.stringify(message.tool_calls));
    images += imagePartsOf(message.content);
  }
  if (prompt !== undefined) bytes += Buffer.byteLength(promptText(prompt));
  return Math.ceil(bytes / 3) + 3 + 85 * images;
}

/** Tokens of a chat prompt counted with the o200k tokenizer (used when the upstream reports no usage). */
export function countPromptTokens(messages: readonly ChatMessageLike[] | undefined, prompt?: unknown): number {
  let tokens = 3;
  for (const message of messages ?? []) {
    tokens += 4 + countTokens(textOf(message.content)) + 85 * imagePartsOf(message.content);
    if (typeof message.name === 'string') tokens += countTokens(message.name);
    if (message.tool_calls) tokens += countTokens(JSON.stringify(message.tool_calls));
  }
  if (prompt !== undefined) tokens += countTokens(promptText(prompt));
  return tokens;
}

export function countTextTokens(text: string): number {
  return text.length === 0 ? 0 : countTokens(text);
}

/**
 * The fake's deterministic token model. A token is a run of non-whitespace characters together
 * with the whitespace before it ("Hello, world!" is 2 tokens: "Hello," and " world!");
 * `countTokens(text)` is the number of such runs. Prompt tokens of a chat request are the tokens of
 * every text in its messages (string contents and `text` parts) plus 85 per image part; of a
 * completion request, the tokens of the prompt (a token-id array counts its length); of an
 * embedding request, the same over every input.
 */

const RUN = /\s*\S+/g;

/** The text cut into its tokens; joined back they give the text (trailing whitespace stays on the last). */
export function splitTokens(text: string): string[] {
  const pieces = text.match(RUN) ?? [];
  const last = pieces.length - 1;
  if (last >= 0) {
    const covered = pieces.reduce((n, piece) => n + piece.length, 0);
    if (covered < text.length) pieces[last] += text.slice(covered);
  }
  return pieces;
}

export function countTokens(text: string): number {
  return text.match(RUN)?.length ?? 0;
}

/** Cuts `text` into exactly `n` slices by characters (fewer when the text is shorter than n). */
export function sliceInto(text: string, n: number): string[] {
  const count = Math.min(n, text.length);
  const slices: string[] = [];
  let start = 0;
  for (let i = 0; i < count; i++) {
    const end = Math.round(((i + 1) * text.length) / count);
    slices.push(text.slice(start, end));
    start = end;
  }
  return slices;
}

const LOREM =
  'lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt ut labore et dolore magna aliqua'.split(
    ' ',
  );

/** `n` generated words (n tokens), the same every time. */
export function generatedWords(n: number): string {
  const words = new Array<string>(n);
  for (let i = 0; i < n; i++) words[i] = LOREM[i % LOREM.length]!;
  return words.join(' ');
}

/** Texts of one message `content` (a string or parts) and how many image parts it holds. */
export function contentTexts(content: unknown): { texts: string[]; images: number } {
  if (typeof content === 'string') return { texts: [content], images: 0 };
  const texts: string[] = [];
  let images = 0;
  if (Array.isArray(content)) {
    for (const part of content as unknown[]) {
      if (typeof part !== 'object' || part === null) continue;
      const { type, text } = part as { type?: unknown; text?: unknown };
      if (typeof text === 'string') texts.push(text);
      else if (type === 'image_url' || type === 'input_image') images++;
    }
  }
  return { texts, images };
}

export const IMAGE_PART_TOKENS = 85;

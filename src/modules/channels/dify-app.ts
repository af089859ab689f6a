/**
 * What a channel of kind `dify` is: one Dify app, reached with its app key, of one mode, priced per
 * endpoint plus per token, with the most one call holds (docs/dify.md). The Dify proxy (modules/dify)
 * routes and bills by it.
 */

export const DIFY_APP_MODES = ['chat', 'agent-chat', 'advanced-chat', 'completion', 'workflow'] as const;
export type DifyAppMode = (typeof DIFY_APP_MODES)[number];

/** The endpoints with a base price of their own. */
export const DIFY_PRICED_ENDPOINTS = [
  'chat-messages',
  'completion-messages',
  'workflows/run',
  'audio-to-text',
  'text-to-audio',
  'suggested',
  'files/upload',
] as const;
export type DifyPricedEndpoint = (typeof DIFY_PRICED_ENDPOINTS)[number];

/** Credits per 1,000 input and output tokens, and a base price per call of each endpoint (decimals allowed). */
export interface DifyPrices {
  input: number;
  output: number;
  endpoints: Partial<Record<DifyPricedEndpoint, number>>;
  /**
   * Whole credits held for one paid call of the app. Dify cannot be told to stop at a budget, so this
   * is the app's expected worst case: a call that costs more is still charged in full, and what it
   * cost beyond the hold is recorded as its overrun (docs/money.md, 6. No balance below zero). An app
   * stored without one takes DIFY_MAX_CALL_COST.
   */
  maxCallCost: number;
}

export interface DifyApp {
  mode: DifyAppMode;
  prices: DifyPrices;
}

/** The families of Dify's service API, each answered only by apps of some modes (dify-api.md §1.4). */
export type DifyFamily = 'chat' | 'completion' | 'workflow';

const FAMILY_MODES: Record<DifyFamily, readonly DifyAppMode[]> = {
  chat: ['chat', 'agent-chat', 'advanced-chat'],
  completion: ['completion'],
  workflow: ['workflow'],
};

export function servesFamily(mode: DifyAppMode, family: DifyFamily): boolean {
  return FAMILY_MODES[family].includes(mode);
}

export function isDifyAppMode(value: unknown): value is DifyAppMode {
  return typeof value === 'string' && (DIFY_APP_MODES as readonly string[]).includes(value);
}

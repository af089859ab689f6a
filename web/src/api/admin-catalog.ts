/** The admin catalog's API: channels, prices, plans, redeem codes, templates and the gallery (docs/admin.md and the modules' routes). */
import { api, apiText, type Query } from './client.ts';
import type { Paged, Plan } from './types.ts';

export const DIFY_APP_MODES = ['chat', 'agent-chat', 'advanced-chat', 'completion', 'workflow'] as const;
export type DifyAppMode = (typeof DIFY_APP_MODES)[number];
export const DIFY_PRICED_ENDPOINTS = [
  'chat-messages',
  'completion-messages',
  'workflows/run',
  'audio-to-text',
  'text-to-audio',
  'suggested',
  'files/upload',
] as const;

export interface DifyPrices {
  input: number;
  output: number;
  endpoints: Record<string, number>;
  maxCallCost: number;
}

export interface Channel {
  id: string;
  name: string;
  kind: 'openai' | 'dify';
  baseUrl: string;
  apiKeyPreview: string;
  models: string[];
  modelMap: Record<string, string>;
  priority: number;
  weight: number;
  enabled: boolean;
  autoDisabled: boolean;
  consecutiveFailures: number;
  lastError: string | null;
  appMode: DifyAppMode | null;
  prices: DifyPrices | null;
  createdAt: string;
  updatedAt: string;
}

/** What a channel form sends: the key only when typed (it is never shown back). */
export type ChannelBody = Partial<
  Omit<
    Channel,
    'id' | 'apiKeyPreview' | 'autoDisabled' | 'consecutiveFailures' | 'lastError' | 'createdAt' | 'updatedAt' | 'prices'
  >
> & {
  apiKey?: string;
  prices?: Partial<DifyPrices>;
};

export interface ChannelTest {
  ok: boolean;
  status: number | null;
  latencyMs: number;
  error: string | null;
}

export const channelsApi = {
  list: () => api<{ items: Channel[] }>('/api/admin/channels'),
  create: (body: ChannelBody) => api<Channel>('/api/admin/channels', { method: 'POST', body }),
  update: (id: string, body: ChannelBody) =>
    api<Channel>(`/api/admin/channels/${encodeURIComponent(id)}`, { method: 'PATCH', body }),
  remove: (id: string) => api<void>(`/api/admin/channels/${encodeURIComponent(id)}`, { method: 'DELETE' }),
  test: (id: string) => api<ChannelTest>(`/api/admin/channels/${encodeURIComponent(id)}/test`, { method: 'POST' }),
};

export interface PriceEntry {
  model: string;
  input: number;
  output: number;
  perRequest: number;
  perImage: number;
  maxOutputTokens: number | null;
  source: 'admin' | 'default';
}

export type PriceBody = Omit<PriceEntry, 'model' | 'source'>;

/** Image-job prices are rows named `image-job`, `image-job:<mode>` or `image-job:<mode>:<resolution>`. */
export const isImageJobPrice = (model: string): boolean => model === 'image-job' || model.startsWith('image-job:');

export const pricesApi = {
  list: () => api<{ items: PriceEntry[] }>('/api/admin/pricing'),
  set: (model: string, body: PriceBody) =>
    api<PriceEntry>(`/api/admin/pricing/${encodeURIComponent(model)}`, { method: 'PUT', body }),
  remove: (model: string) => api<void>(`/api/admin/pricing/${encodeURIComponent(model)}`, { method: 'DELETE' }),
};

export interface RateLimits {
  rpm: number;
  tpm: number;
  concurrency: number;
  rpd: number;
}

export interface AdminPlan extends Plan {
  otherPrice: { currency: string; amount: number } | null;
  nameEn: string | null;
  benefitsEn: string[] | null;
  status: 'active' | 'retired';
  sortOrder: number;
  subscribers: number;
  entitlements: Plan['entitlements'] & { rateLimits: RateLimits | null; multiplierPermille: number };
}

export interface PlanBody {
  code?: string;
  name: string;
  nameEn: string | null;
  description: string | null;
  level: number;
  price: number;
  durationDays: number | null;
  benefits: string[];
  benefitsEn: string[] | null;
  sortOrder: number;
  entitlements: AdminPlan['entitlements'];
  status?: 'active' | 'retired';
}

export const plansApi = {
  list: () => api<AdminPlan[]>('/api/admin/plans', { query: { includeRetired: 'true' } }),
  create: (body: PlanBody) => api<AdminPlan>('/api/admin/plans', { method: 'POST', body }),
  update: (id: string, body: Partial<PlanBody>) =>
    api<AdminPlan>(`/api/admin/plans/${encodeURIComponent(id)}`, { method: 'PATCH', body }),
  retire: (id: string) => api<AdminPlan>(`/api/admin/plans/${encodeURIComponent(id)}`, { method: 'DELETE' }),
};

export type RedeemState = 'active' | 'used' | 'expired' | 'disabled';

export interface RedeemCode {
  id: string;
  batchId: string;
  code: string;
  credits: number;
  planId: string | null;
  planDays: number | null;
  maxUses: number;
  usedCount: number;
  state: RedeemState;
  expiresAt: string | null;
  disabledAt: string | null;
  note: string | null;
  createdAt: string;
  /** The latest redemption: who and when (null while unused). */
  lastUsed?: { userId: string; email: string | null; at: string } | null;
}

export interface RedeemBatch {
  batchId: string;
  codes: number;
  uses: number;
  maxUses: number;
  disabled: number;
  credits: number;
  planId: string | null;
  expiresAt: string | null;
  note: string | null;
  createdAt: string;
}

export interface BatchBody {
  count: number;
  credits: number;
  maxUses?: number;
  expiresAt?: string;
  note?: string;
  planId?: string;
  planDays?: number;
}

export interface CodeFilter extends Query {
  batchId?: string;
  state?: RedeemState;
}

export const redeemApi = {
  create: (body: BatchBody) =>
    api<{ batchId: string; codes: RedeemCode[] }>('/api/admin/redeem-codes', { method: 'POST', body }),
  exportCsv: (filter: CodeFilter) => apiText('/api/admin/redeem-codes/export', filter),
  disableCode: (id: string) =>
    api<{ disabled: number }>(`/api/admin/redeem-codes/${encodeURIComponent(id)}/disable`, { method: 'POST' }),
  disableBatch: (id: string) =>
    api<{ disabled: number }>(`/api/admin/redeem-batches/${encodeURIComponent(id)}/disable`, { method: 'POST' }),
};
export const REDEEM_CODES_PATH = '/api/admin/redeem-codes';
export const REDEEM_BATCHES_PATH = '/api/admin/redeem-batches';

/** Seed 003's routes answer `{success: true, data}`. */
async function dream<T>(path: string, options: Parameters<typeof api>[1] = {}): Promise<T> {
  return (await api<{ data: T }>(path, options)).data;
}

export interface PromptTemplate {
  id: string;
  title: string;
  prompt: string;
  negativePrompt: string | null;
  description: string | null;
  category: string;
  tags: string[];
  coverUrl: string | null;
  usageCount: number;
  isActive: boolean;
  sortOrder: number;
  createdAt: string;
  updatedAt: string;
}

export interface ParamTemplate {
  id: string;
  name: string;
  description: string | null;
  category: string;
  mode: string;
  resolution: string;
  width: number;
  height: number;
  count: number;
  params: Record<string, string | number | boolean>;
  coverUrl: string | null;
  usageCount: number;
  isActive: boolean;
  sortOrder: number;
  createdAt: string;
  updatedAt: string;
}

export type TemplateKind = 'prompts' | 'params';

export const templatesApi = {
  list: <T>(kind: TemplateKind, query: Query) =>
    dream<Paged<T>>(`/v1/admin/templates/${kind}`, { query: { sort: 'newest', ...query } }),
  create: <T>(kind: TemplateKind, body: Record<string, unknown>) =>
    dream<T>(`/v1/admin/templates/${kind}`, { method: 'POST', body }),
  update: <T>(kind: TemplateKind, id: string, body: Record<string, unknown>) =>
    dream<T>(`/v1/admin/templates/${kind}/${encodeURIComponent(id)}`, { method: 'PUT', body }),
  remove: (kind: TemplateKind, id: string) =>
    dream<{ id: string }>(`/v1/admin/templates/${kind}/${encodeURIComponent(id)}`, { method: 'DELETE' }),
};

export interface GalleryImage {
  id: string;
  title: string;
  prompt: string;
  category: string;
  imageUrl: string;
  width: number;
  height: number;
  likeCount: number;
  author: { nickname: string | null; avatarUrl: string | null } | null;
  createdAt: string;
}

export const galleryApi = {
  list: (query: Query) => dream<Paged<GalleryImage>>('/v1/gallery/images', { query: { sort: 'newest', ...query } }),
  takeDown: (id: string) =>
    dream<GalleryImage>(`/v1/admin/gallery/images/${encodeURIComponent(id)}`, { method: 'DELETE' }),
};

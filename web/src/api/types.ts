/** The API's answers the console reads (see the routes' TypeBox schemas under src/modules). */
export interface Profile {
  id: string;
  email: string | null;
  username: string;
  role: 'user' | 'admin';
  createdAt: string;
}

export interface Paged<T> {
  items: T[];
  total: number;
  page: number;
  limit: number;
}

export interface Balance {
  credits: number;
  held: number;
  available: number;
}

export interface AllowanceState {
  metric: 'credits' | 'requests' | 'tokens' | 'images';
  period: 'day' | 'week' | 'month';
  limit: number;
  used: number;
  remaining: number;
  resetsAt: string;
}

export interface MyPlan {
  isVip: boolean;
  plan: { id: string; code: string; name: string; level: number } | null;
  expiresAt: string | null;
  lifetime: boolean;
  allowances: AllowanceState[];
}

export interface CheckinStatus {
  hasCheckedIn: boolean;
  consecutiveDays: number;
  lastCheckinDate: string | null;
}

export interface CheckinItem {
  id: string;
  checkinDate: string;
  creditEarned: number;
  consecutiveDays: number;
}

export interface DailyByModel {
  date: string;
  model: string;
  requests: number;
  inputTokens: number;
  outputTokens: number;
  credits: number;
}

export interface ApiKey {
  id: string;
  name: string;
  preview: string;
  enabled: boolean;
  expiresAt: string | null;
  allowedModels: string[] | null;
  allowedIps: string[] | null;
  creditCap: number | null;
  creditsUsed: number;
  rateLimits: { rpm: number | null; tpm: number | null; concurrency: number | null; rpd: number | null };
  lastUsedAt: string | null;
  createdAt: string;
}

export interface UsageLog {
  id: string;
  requestId: string;
  keyId: string | null;
  endpoint: string;
  model: string;
  stream: boolean;
  inputTokens: number;
  outputTokens: number;
  credits: number;
  latencyMs: number;
  status: string;
  httpStatus: number;
  createdAt: string;
}

export interface LedgerItem {
  id: string;
  amount: number;
  type: string;
  reason: string;
  balanceAfter: number;
  createdAt: string;
}

export interface Plan {
  id: string;
  code: string;
  name: string;
  description: string | null;
  level: number;
  price: number;
  currency: 'CNY';
  durationDays: number | null;
  lifetime: boolean;
  benefits: string[];
  entitlements: {
    creditsOnActivation: number;
    allowances: { metric: AllowanceState['metric']; period: AllowanceState['period']; limit: number }[];
    models: string[] | null;
  };
}

export type OrderStatus = 'pending' | 'paid' | 'fulfilled' | 'closed' | 'partially_refunded' | 'refunded';
export type PayChannel = 'wechat_native' | 'stripe_checkout' | 'wechat_jsapi';

export interface Order {
  id: string;
  orderNo: string;
  kind: 'plan' | 'credits';
  description: string;
  amount: number;
  currency: string;
  status: OrderStatus;
  createdAt: string;
  expiresAt: string;
  paidAt: string | null;
}

export interface OrderOptions {
  enabled: boolean;
  channels: PayChannel[];
}

export type Checkout =
  | { channel: 'wechat_native'; codeUrl: string }
  | { channel: 'stripe_checkout'; url: string; sessionId: string }
  | { channel: 'wechat_jsapi' };

export interface SessionView {
  id: string;
  createdAt: string;
  expiresAt: string;
  ip: string | null;
  userAgent: string | null;
  current: boolean;
}

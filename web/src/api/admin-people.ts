/** The admin API the overview, users, orders and audit pages read (src/modules/admin, orders, plans, credits). */
import type { AllowanceState, LedgerItem, OrderStatus, PayChannel, UsageLog } from './types.ts';

export interface OverviewDay {
  date: string;
  newUsers: number;
  calls: number;
  errors: number;
  creditsGranted: number;
  creditsSpent: number;
  latencyAvgMs: number | null;
  latencyP95Ms: number | null;
}

export interface Money {
  currency: string;
  received: number;
  refunded: number;
  net: number;
}

export interface AdminOverview {
  days: number;
  totals: Omit<OverviewDay, 'date'> & { users: number; revenue: Money[] };
  daily: OverviewDay[];
  revenue: (Money & { date: string })[];
}

export type Role = 'user' | 'admin';
export type UserStatus = 'active' | 'disabled';

export interface AdminUser {
  id: string;
  email: string | null;
  username: string;
  nickname: string | null;
  phone: string | null;
  openid: string | null;
  hasPassword: boolean;
  role: Role;
  status: UserStatus;
  createdAt: string;
  updatedAt: string;
  deletedAt: string | null;
}

export interface AdminUserDetail extends AdminUser {
  credits: { balance: number; held: number; available: number };
}

export interface UserPlan {
  isVip: boolean;
  level: number;
  plan: { id: string; code: string; name: string; level: number } | null;
  startedAt: string | null;
  expiresAt: string | null;
  lifetime: boolean;
  daysLeft: number | null;
  allowances: AllowanceState[];
}

export interface AdminPlan {
  id: string;
  code: string;
  name: string;
  level: number;
  durationDays: number | null;
  lifetime: boolean;
  status: 'active' | 'retired';
}

export interface Adjusted {
  applied: boolean;
  balance: number;
  entry: LedgerItem;
}

export interface AdminOrder {
  id: string;
  orderNo: string;
  userId: string;
  kind: 'plan' | 'credits';
  status: OrderStatus;
  description: string;
  amount: number;
  currency: string;
  credits: number;
  planCode: string | null;
  provider: string;
  channel: PayChannel;
  transactionId: string | null;
  providerRef: string | null;
  refundedAmount: number;
  refundRequested: number;
  note: string | null;
  createdAt: string;
  paidAt: string | null;
  closedAt: string | null;
}

export interface Refund {
  id: string;
  refundNo: string;
  amount: number;
  currency: string;
  reason: string;
  status: 'pending' | 'succeeded' | 'failed';
  creditsReversed: number;
  creditsShortfall: number;
  planEffect: string | null;
  requestedBy: string | null;
  createdAt: string;
  settledAt: string | null;
}

export interface AdminOrderDetail extends AdminOrder {
  refunds: Refund[];
  events: { type: string; via: string; detail: string | null; at: string }[];
}

export interface AuditEntry {
  id: string;
  createdAt: string;
  actor: { kind: 'session' | 'adminkey'; userId: string | null };
  action: string;
  params: unknown;
  target: { type: string; id: string | null } | null;
  before: unknown;
  after: unknown;
  status: number;
  ip: string;
  requestId: string;
}

export type { UsageLog };

/** The statuses an order can be refunded from (docs/payments.md). */
export const REFUNDABLE: readonly OrderStatus[] = ['paid', 'fulfilled', 'partially_refunded'];

export const userPath = (id: string, rest = '') => `/api/admin/users/${encodeURIComponent(id)}${rest}`;
export const orderPath = (id: string, rest = '') => `/api/admin/orders/${encodeURIComponent(id)}${rest}`;

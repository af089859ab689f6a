import type { AdminPlan, PlanBody, RateLimits } from '@/api/admin-catalog.ts';

export interface PlanFields {
  code: string;
  name: string;
  nameEn?: string;
  description?: string;
  level: number;
  /** Yuan, as typed; the API takes fen. */
  priceYuan: number;
  lifetime: boolean;
  durationDays?: number | null;
  benefits?: string;
  benefitsEn?: string;
  sortOrder?: number | null;
  creditsOnActivation?: number | null;
  allowances?: AdminPlan['entitlements']['allowances'];
  models?: string[];
  multiplierPermille?: number | null;
  rpm?: number | null;
  tpm?: number | null;
  concurrency?: number | null;
  rpd?: number | null;
}

const LIMITS = ['rpm', 'tpm', 'concurrency', 'rpd'] as const;
const lines = (text: string | undefined) =>
  (text ?? '')
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean);

/** Yuan to fen without floating-point drift (29.9 → 2990). */
export const toFen = (yuan: number): number => Math.round(yuan * 100);

/** The body the plan form sends: one benefit per line, no English lines = none, rate limits all or none. */
export function planBody(fields: PlanFields, creating: boolean): PlanBody {
  const limits = LIMITS.map((l) => fields[l]);
  const rateLimits: RateLimits | null = limits.some((v) => v != null)
    ? { rpm: fields.rpm ?? 0, tpm: fields.tpm ?? 0, concurrency: fields.concurrency ?? 0, rpd: fields.rpd ?? 0 }
    : null;
  const benefitsEn = lines(fields.benefitsEn);
  return {
    ...(creating ? { code: fields.code.trim() } : {}),
    name: fields.name.trim(),
    nameEn: fields.nameEn?.trim() || null,
    description: fields.description?.trim() || null,
    level: fields.level,
    price: toFen(fields.priceYuan),
    durationDays: fields.lifetime ? null : (fields.durationDays ?? null),
    benefits: lines(fields.benefits),
    benefitsEn: benefitsEn.length ? benefitsEn : null,
    sortOrder: fields.sortOrder ?? 0,
    entitlements: {
      creditsOnActivation: fields.creditsOnActivation ?? 0,
      allowances: fields.allowances ?? [],
      models: fields.models?.length ? fields.models : null,
      rateLimits,
      multiplierPermille: fields.multiplierPermille ?? 1000,
    },
  };
}

export function planFields(plan: AdminPlan | undefined): Partial<PlanFields> {
  if (!plan)
    return { level: 1, priceYuan: 0, lifetime: false, durationDays: 30, multiplierPermille: 1000, allowances: [] };
  const e = plan.entitlements;
  return {
    code: plan.code,
    name: plan.name,
    nameEn: plan.nameEn ?? '',
    description: plan.description ?? '',
    level: plan.level,
    priceYuan: plan.price / 100,
    lifetime: plan.lifetime,
    durationDays: plan.durationDays,
    benefits: plan.benefits.join('\n'),
    benefitsEn: (plan.benefitsEn ?? []).join('\n'),
    sortOrder: plan.sortOrder,
    creditsOnActivation: e.creditsOnActivation,
    allowances: e.allowances,
    models: e.models ?? [],
    multiplierPermille: e.multiplierPermille,
    ...(e.rateLimits ?? {}),
  };
}

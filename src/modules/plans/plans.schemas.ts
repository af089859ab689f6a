import { Type } from 'typebox';

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(schema: T) => Type.Union([schema, Type.Null()]);

const Metric = Type.Union([
  Type.Literal('credits'),
  Type.Literal('requests'),
  Type.Literal('tokens'),
  Type.Literal('images'),
]);
const Period = Type.Union([Type.Literal('day'), Type.Literal('week'), Type.Literal('month')]);

export const AllowanceSchema = Type.Object(
  {
    metric: Metric,
    period: Period,
    limit: Type.Integer({ minimum: 1, maximum: 1_000_000_000_000 }),
  },
  { additionalProperties: false },
);

export const RateLimitsSchema = Type.Object(
  {
    rpm: Type.Integer({ minimum: 0, maximum: 1_000_000 }),
    tpm: Type.Integer({ minimum: 0, maximum: 1_000_000_000 }),
    concurrency: Type.Integer({ minimum: 0, maximum: 10_000 }),
    rpd: Type.Integer({ minimum: 0, maximum: 100_000_000 }),
  },
  { additionalProperties: false, description: 'Replace the role limits while the plan is active; 0 = unlimited' },
);

export const EntitlementsSchema = Type.Object(
  {
    creditsOnActivation: Type.Integer({ minimum: 0, maximum: 1_000_000_000 }),
    allowances: Type.Array(AllowanceSchema, { maxItems: 12 }),
    models: Nullable(Type.Array(Type.String({ minLength: 1, maxLength: 128 }), { maxItems: 200 })),
    rateLimits: Nullable(RateLimitsSchema),
    multiplierPermille: Type.Integer({
      minimum: 0,
      maximum: 100_000,
      description: 'Price multiplier in thousandths (900 = ×0.9), times the role multiplier',
    }),
  },
  { additionalProperties: false },
);

export const PlanItem = Type.Object({
  id: Type.String(),
  code: Type.String(),
  name: Type.String(),
  description: Nullable(Type.String()),
  level: Type.Integer(),
  price: Type.Integer({ description: 'CNY fen' }),
  currency: Type.Literal('CNY'),
  otherPrice: Nullable(Type.Object({ currency: Type.String(), amount: Type.Integer() })),
  durationDays: Nullable(Type.Integer()),
  lifetime: Type.Boolean(),
  benefits: Type.Array(Type.String()),
  nameEn: Nullable(Type.String({ description: 'The English name, for English visitors; null: none' })),
  benefitsEn: Nullable(Type.Array(Type.String(), { description: 'The English benefits; null: none' })),
  entitlements: EntitlementsSchema,
  status: Type.Union([Type.Literal('active'), Type.Literal('retired')]),
  sortOrder: Type.Integer(),
  createdAt: Type.String(),
  updatedAt: Type.String(),
});

export const AdminPlanItem = Type.Intersect([PlanItem, Type.Object({ subscribers: Type.Integer() })]);

export const AllowanceStateSchema = Type.Object({
  metric: Metric,
  period: Period,
  limit: Type.Integer(),
  used: Type.Integer(),
  remaining: Type.Integer(),
  windowStart: Type.String({ description: 'The local date (CHECKIN_TZ) the window began' }),
  resetsAt: Type.String({ description: 'When the window ends and the count starts again' }),
});

export const VipInfo = Type.Object({
  isVip: Type.Boolean(),
  level: Type.Integer({ description: '0 without a plan' }),
  plan: Nullable(Type.Object({ id: Type.String(), code: Type.String(), name: Type.String(), level: Type.Integer() })),
  startedAt: Nullable(Type.String()),
  expiresAt: Nullable(Type.String({ description: 'null: lifetime, or no plan' })),
  lifetime: Type.Boolean(),
  daysLeft: Nullable(Type.Integer()),
  allowances: Type.Array(AllowanceStateSchema),
  models: Nullable(Type.Array(Type.String())),
  rateLimits: Nullable(RateLimitsSchema),
  multiplierPermille: Type.Integer(),
});

const Code = Type.String({ minLength: 1, maxLength: 64, pattern: '^[a-z0-9][a-z0-9_-]*$' });
const Benefits = Type.Array(Type.String({ minLength: 1, maxLength: 200 }), { maxItems: 50 });
const NameEn = Nullable(
  Type.String({ minLength: 1, maxLength: 100, description: 'The English name (English visitors see it); null: none' }),
);
const BenefitsEn = Nullable(
  Type.Array(Type.String({ minLength: 1, maxLength: 200 }), {
    maxItems: 50,
    description: 'The English benefits (English visitors see them); null or empty: none',
  }),
);
const OtherPrice = Nullable(
  Type.Object(
    {
      currency: Type.String({ pattern: '^[A-Z]{3}$' }),
      amount: Type.Integer({ minimum: 0, maximum: 100_000_000_000 }),
    },
    { additionalProperties: false },
  ),
);

export const CreatePlanBody = Type.Object(
  {
    code: Code,
    name: Type.String({ minLength: 1, maxLength: 100 }),
    description: Type.Optional(Nullable(Type.String({ maxLength: 500 }))),
    level: Type.Integer({ minimum: 1, maximum: 1000 }),
    price: Type.Integer({ minimum: 0, maximum: 100_000_000_000, description: 'CNY fen' }),
    otherPrice: Type.Optional(OtherPrice),
    durationDays: Type.Union([Type.Integer({ minimum: 1, maximum: 36_500 }), Type.Null()], {
      description: 'null: lifetime',
    }),
    benefits: Type.Optional(Benefits),
    nameEn: Type.Optional(NameEn),
    benefitsEn: Type.Optional(BenefitsEn),
    entitlements: Type.Optional(Type.Partial(EntitlementsSchema)),
    sortOrder: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_000_000 })),
  },
  { additionalProperties: false },
);

export const UpdatePlanBody = Type.Object(
  {
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
    description: Type.Optional(Nullable(Type.String({ maxLength: 500 }))),
    level: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
    price: Type.Optional(Type.Integer({ minimum: 0, maximum: 100_000_000_000 })),
    otherPrice: Type.Optional(OtherPrice),
    durationDays: Type.Optional(Nullable(Type.Integer({ minimum: 1, maximum: 36_500 }))),
    benefits: Type.Optional(Benefits),
    nameEn: Type.Optional(NameEn),
    benefitsEn: Type.Optional(BenefitsEn),
    entitlements: Type.Optional(Type.Partial(EntitlementsSchema)),
    sortOrder: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_000_000 })),
    status: Type.Optional(Type.Union([Type.Literal('active'), Type.Literal('retired')])),
  },
  { additionalProperties: false, minProperties: 1 },
);

export const PlanParams = Type.Object(
  { id: Type.String({ minLength: 1, maxLength: 64 }) },
  { additionalProperties: false },
);

export const IncludeRetiredQuery = Type.Object(
  { includeRetired: Type.Optional(Type.Boolean({ default: false })) },
  { additionalProperties: false },
);

/** Seed 003's "set user VIP": a plan (id or code) or a level, for `days` or until `expireAt`. */
export const SetUserPlanBody = Type.Object(
  {
    planId: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'A plan id or code' })),
    level: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
    days: Type.Optional(Type.Integer({ minimum: 1, maximum: 36_500 })),
    expireAt: Type.Optional(Type.String({ format: 'date-time' })),
  },
  { additionalProperties: false },
);

export const SubscriptionItem = Type.Object({
  id: Type.String(),
  userId: Type.String(),
  planId: Type.String(),
  planCode: Type.String(),
  planName: Type.String(),
  level: Type.Integer(),
  price: Type.Integer(),
  startedAt: Type.String(),
  expiresAt: Nullable(Type.String()),
  status: Type.String(),
  source: Type.String(),
  entitlements: EntitlementsSchema,
});

export const SetUserPlanResponse = Type.Object({
  applied: Type.Boolean(),
  creditsGranted: Type.Integer(),
  subscription: SubscriptionItem,
});

export const PurchaseBody = Type.Object(
  {
    planId: Type.String({ minLength: 1, maxLength: 64, description: 'A plan id or code' }),
  },
  { additionalProperties: true },
);

export const UserIdParam = Type.Object(
  { id: Type.String({ minLength: 1, maxLength: 36 }) },
  { additionalProperties: false },
);

import { Type } from 'typebox';
import { PageQuery } from '#core/http/pagination.ts';

export const RedeemBody = Type.Object(
  { code: Type.String({ minLength: 1, maxLength: 64 }) },
  { additionalProperties: false },
);

export const RedeemedPlan = Type.Object({
  id: Type.String(),
  code: Type.String(),
  name: Type.String(),
  level: Type.Integer(),
  expiresAt: Type.Union([Type.String(), Type.Null()], { description: 'null: lifetime' }),
});

export const RedeemResponse = Type.Object({
  success: Type.Boolean(),
  creditsAdded: Type.Integer({ description: "The code's credits and the credits its plan grants on activation" }),
  totalCredits: Type.Integer(),
  message: Type.String(),
  plan: Type.Optional(Type.Union([RedeemedPlan], { description: 'The plan the code activated, when it has one' })),
});

const State = Type.Union([
  Type.Literal('active'),
  Type.Literal('used'),
  Type.Literal('expired'),
  Type.Literal('disabled'),
]);

export const RedeemCodeItem = Type.Object({
  id: Type.String(),
  batchId: Type.String(),
  code: Type.String(),
  credits: Type.Integer(),
  planId: Type.Union([Type.String(), Type.Null()]),
  planDays: Type.Union([Type.Integer(), Type.Null()]),
  maxUses: Type.Integer(),
  usedCount: Type.Integer(),
  state: State,
  expiresAt: Type.Union([Type.String(), Type.Null()]),
  disabledAt: Type.Union([Type.String(), Type.Null()]),
  note: Type.Union([Type.String(), Type.Null()]),
  createdAt: Type.String(),
  lastUsed: Type.Optional(
    Type.Union([
      Type.Object(
        { userId: Type.String(), email: Type.Union([Type.String(), Type.Null()]), at: Type.String() },
        { description: "The code's latest redemption (in the admin's list; null while unused)" },
      ),
      Type.Null(),
    ]),
  ),
});

export const RedeemBatchItem = Type.Object({
  batchId: Type.String(),
  codes: Type.Integer(),
  uses: Type.Integer({ description: 'Redemptions of its codes' }),
  maxUses: Type.Integer({ description: 'Redemptions its codes allow in all' }),
  disabled: Type.Integer({ description: 'Codes disabled' }),
  credits: Type.Integer({ description: 'Credits per redemption' }),
  planId: Type.Union([Type.String(), Type.Null()]),
  expiresAt: Type.Union([Type.String(), Type.Null()]),
  note: Type.Union([Type.String(), Type.Null()]),
  createdAt: Type.String(),
});

export const CreateBatchBody = Type.Object(
  {
    count: Type.Integer({ minimum: 1, maximum: 1000 }),
    credits: Type.Integer({
      minimum: 0,
      maximum: 1_000_000_000,
      description: 'Credits per redemption; 0 when the code only activates a plan',
    }),
    planId: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'A plan (id or code) to activate' })),
    planDays: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 36_500, description: "Days of the plan (default: the plan's duration)" }),
    ),
    maxUses: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 1_000_000, default: 1, description: 'Uses per code (different users)' }),
    ),
    expiresAt: Type.Optional(Type.String({ format: 'date-time' })),
    note: Type.Optional(Type.String({ maxLength: 255 })),
  },
  { additionalProperties: false },
);

export const CreateBatchResponse = Type.Object({ batchId: Type.String(), codes: Type.Array(RedeemCodeItem) });

export const CodeFilterQuery = Type.Object(
  {
    batchId: Type.Optional(Type.String({ maxLength: 36 })),
    state: Type.Optional(State),
  },
  { additionalProperties: false },
);

export const ListCodesQuery = Type.Object(
  { ...PageQuery.properties, ...CodeFilterQuery.properties },
  { additionalProperties: false },
);

export const IdParams = Type.Object(
  { id: Type.String({ minLength: 1, maxLength: 36 }) },
  { additionalProperties: false },
);

export const DisabledResponse = Type.Object({
  disabled: Type.Integer({ description: 'How many codes were disabled now' }),
});

import { Type } from 'typebox';
import { PageQuery } from '#core/http/pagination.ts';

export const RedeemBody = Type.Object(
  { code: Type.String({ minLength: 1, maxLength: 64 }) },
  { additionalProperties: false },
);

export const RedeemResponse = Type.Object({
  success: Type.Boolean(),
  creditsAdded: Type.Integer(),
  totalCredits: Type.Integer(),
  message: Type.String(),
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
  maxUses: Type.Integer(),
  usedCount: Type.Integer(),
  state: State,
  expiresAt: Type.Union([Type.String(), Type.Null()]),
  disabledAt: Type.Union([Type.String(), Type.Null()]),
  note: Type.Union([Type.String(), Type.Null()]),
  createdAt: Type.String(),
});

export const CreateBatchBody = Type.Object(
  {
    count: Type.Integer({ minimum: 1, maximum: 1000 }),
    credits: Type.Integer({ minimum: 1, maximum: 1_000_000_000 }),
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

import { Type } from 'typebox';
import type { ApiKeyRow } from './keys.tables.ts';

const Limit = Type.Union([Type.Integer({ minimum: 0, maximum: 10_000_000 }), Type.Null()], {
  description: 'Tightens the role default for this key (never loosens it); 0 or null = the default',
});

const Settings = {
  name: Type.String({ minLength: 1, maxLength: 64 }),
  enabled: Type.Boolean(),
  expiresAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  allowedModels: Type.Union([
    Type.Array(Type.String({ minLength: 1, maxLength: 128 }), { maxItems: 200, uniqueItems: true }),
    Type.Null(),
  ]),
  allowedIps: Type.Union([
    Type.Array(Type.String({ minLength: 2, maxLength: 64 }), { maxItems: 100, uniqueItems: true }),
    Type.Null(),
  ]),
  creditCap: Type.Union([Type.Integer({ minimum: 1, maximum: 1_000_000_000_000 }), Type.Null()]),
  rateLimits: Type.Object(
    {
      rpm: Type.Optional(Limit),
      tpm: Type.Optional(Limit),
      concurrency: Type.Optional(Limit),
      rpd: Type.Optional(Limit),
    },
    { additionalProperties: false },
  ),
};

export const CreateKeyBody = Type.Object(
  {
    name: Settings.name,
    expiresAt: Type.Optional(Settings.expiresAt),
    allowedModels: Type.Optional(Settings.allowedModels),
    allowedIps: Type.Optional(Settings.allowedIps),
    creditCap: Type.Optional(Settings.creditCap),
    rateLimits: Type.Optional(Settings.rateLimits),
  },
  { additionalProperties: false },
);

export const UpdateKeyBody = Type.Object(
  {
    name: Type.Optional(Settings.name),
    enabled: Type.Optional(Settings.enabled),
    expiresAt: Type.Optional(Settings.expiresAt),
    allowedModels: Type.Optional(Settings.allowedModels),
    allowedIps: Type.Optional(Settings.allowedIps),
    creditCap: Type.Optional(Settings.creditCap),
    rateLimits: Type.Optional(Settings.rateLimits),
  },
  { additionalProperties: false, minProperties: 1 },
);

export const KeyIdParams = Type.Object(
  { id: Type.String({ minLength: 1, maxLength: 36 }) },
  { additionalProperties: false },
);

const LimitView = Type.Union([Type.Integer(), Type.Null()]);

export const KeyView = Type.Object({
  id: Type.String(),
  name: Type.String(),
  /** `sk-AbCd…wxyz`: enough to recognise a key, never enough to use it. */
  preview: Type.String(),
  enabled: Type.Boolean(),
  expiresAt: Type.Union([Type.String(), Type.Null()]),
  allowedModels: Type.Union([Type.Array(Type.String()), Type.Null()]),
  allowedIps: Type.Union([Type.Array(Type.String()), Type.Null()]),
  creditCap: Type.Union([Type.Integer(), Type.Null()]),
  creditsUsed: Type.Integer(),
  rateLimits: Type.Object({ rpm: LimitView, tpm: LimitView, concurrency: LimitView, rpd: LimitView }),
  lastUsedAt: Type.Union([Type.String(), Type.Null()]),
  createdAt: Type.String(),
});

export const CreatedKey = Type.Object({
  key: Type.String({ description: 'The secret. Shown this once; Tollgate keeps only its hash.' }),
  apiKey: KeyView,
});

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
const list = (json: string | null) => (json === null ? null : (JSON.parse(json) as string[]));

/** A key as its owner sees it; `creditsUsed` is what has been charged through it (usage records). */
export function toKeyView(row: ApiKeyRow, creditsUsed: number) {
  return {
    id: row.id,
    name: row.name,
    preview: `${row.key_prefix}…${row.key_last4}`,
    enabled: row.enabled === 1,
    expiresAt: iso(row.expires_at),
    allowedModels: list(row.allowed_models),
    allowedIps: list(row.allowed_ips),
    creditCap: row.credit_cap,
    creditsUsed,
    rateLimits: { rpm: row.rpm, tpm: row.tpm, concurrency: row.concurrency, rpd: row.rpd },
    lastUsedAt: iso(row.last_used_at),
    createdAt: new Date(row.created_at).toISOString(),
  };
}

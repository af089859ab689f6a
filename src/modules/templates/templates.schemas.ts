import { Type, type Static } from 'typebox';
import { Paging } from '#core/http/pagination.ts';

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(schema: T) => Type.Union([schema, Type.Null()]);

/** One line of text a person reads: no control characters, no space at either end. */
const TRIMMED = '^[^\\s\\u0000-\\u001f\\u007f](?:[^\\u0000-\\u001f\\u007f]*[^\\s\\u0000-\\u001f\\u007f])?$';
const Line = (maxLength: number, description?: string) =>
  Type.String({ minLength: 1, maxLength, pattern: TRIMMED, ...(description ? { description } : {}) });
const Title = Line(100);
const Description = Nullable(Type.String({ maxLength: 500 }));
/** A prompt: any text (lines included) with something in it. */
const PromptText = Type.String({ minLength: 1, maxLength: 4000, pattern: '\\S' });
const Category = Line(32, 'A short name the lists filter on (the seed uses slugs: portrait, anime, landscape, …)');
const Tags = Type.Array(Line(20), { maxItems: 10, uniqueItems: true });
const CoverUrl = Nullable(
  Type.String({ maxLength: 500, pattern: '^https?://[^\\s]+$', description: 'http(s) image URL' }),
);
const SortOrder = Type.Integer({ minimum: 0, maximum: 1_000_000, description: 'Lower first in the default order' });
export const Mode = Type.String({
  pattern: '^[a-z0-9][a-z0-9_-]{0,31}$',
  description: 'The generation mode, as the image-job request names it (seed: fast, standard, hd)',
});
export const Resolution = Type.String({
  pattern: '^[1-9][0-9]{1,4}x[1-9][0-9]{1,4}$',
  description: 'WIDTHxHEIGHT in pixels, each 64 to 8192',
});
export const ImageCount = Type.Integer({ minimum: 1, maximum: 10, description: 'Images per request' });
/** The other settings of a parameter template: scalar values under simple names. */
export const Params = Type.Record(
  Type.String({ pattern: '^[A-Za-z][A-Za-z0-9_]{0,39}$' }),
  Type.Union([Type.String({ maxLength: 200 }), Type.Number(), Type.Boolean()]),
  {
    maxProperties: 20,
    additionalProperties: false,
    description: 'Other settings (steps, guidanceScale, aspectRatio, …)',
  },
);

export const PromptTemplateSchema = Type.Object({
  id: Type.String(),
  title: Type.String(),
  prompt: Type.String(),
  negativePrompt: Nullable(Type.String()),
  description: Nullable(Type.String()),
  category: Type.String(),
  tags: Type.Array(Type.String()),
  coverUrl: Nullable(Type.String()),
  usageCount: Type.Integer(),
  isActive: Type.Boolean(),
  sortOrder: Type.Integer(),
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
});
export type PromptTemplate = Static<typeof PromptTemplateSchema>;

export const ParamTemplateSchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  description: Nullable(Type.String()),
  category: Type.String(),
  mode: Type.String(),
  resolution: Type.String(),
  width: Type.Integer(),
  height: Type.Integer(),
  count: Type.Integer(),
  params: Type.Record(Type.String(), Type.Union([Type.String(), Type.Number(), Type.Boolean()])),
  coverUrl: Nullable(Type.String()),
  usageCount: Type.Integer(),
  isActive: Type.Boolean(),
  sortOrder: Type.Integer(),
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
});
export type ParamTemplate = Static<typeof ParamTemplateSchema>;

const Sort = Type.Union([Type.Literal('default'), Type.Literal('trending'), Type.Literal('newest')], {
  default: 'default',
  description: 'default: the admins’ order; trending: most used first; newest: newest first',
});

/** A template list: page or cursor, a category, an order (`trending=true` is `sort=trending`). */
export const TemplateListQuery = Type.Object(
  {
    page: Paging.page(),
    limit: Paging.limit({ default: 20 }),
    cursor: Type.Optional(Paging.cursor()),
    category: Type.Optional(Type.String({ minLength: 1, maxLength: 32 })),
    sort: Type.Optional(Sort),
    trending: Type.Optional(Type.Boolean({ description: 'true: the same as sort=trending' })),
  },
  { additionalProperties: false },
);

/** The admins' list: the users' one, plus every state (`active` narrows it). */
export const AdminTemplateListQuery = Type.Object(
  {
    page: Paging.page(),
    limit: Paging.limit({ default: 20 }),
    cursor: Type.Optional(Paging.cursor()),
    category: Type.Optional(Type.String({ minLength: 1, maxLength: 32 })),
    sort: Type.Optional(Sort),
    trending: Type.Optional(Type.Boolean()),
    active: Type.Optional(Type.Boolean({ description: 'Only active (true) or only hidden (false) templates' })),
  },
  { additionalProperties: false },
);

export const TemplateParams = Type.Object(
  { id: Type.String({ minLength: 1, maxLength: 64 }) },
  { additionalProperties: false },
);

export const UsageResult = Type.Object({ id: Type.String(), usageCount: Type.Integer() });

export const DeletedResult = Type.Object({ id: Type.String(), deleted: Type.Literal(true) });

const promptFields = {
  title: Title,
  prompt: PromptText,
  negativePrompt: Nullable(Type.String({ maxLength: 4000 })),
  description: Description,
  category: Category,
  tags: Tags,
  coverUrl: CoverUrl,
  isActive: Type.Boolean(),
  sortOrder: SortOrder,
};

export const CreatePromptTemplateBody = Type.Object(
  {
    title: promptFields.title,
    prompt: promptFields.prompt,
    category: promptFields.category,
    negativePrompt: Type.Optional(promptFields.negativePrompt),
    description: Type.Optional(promptFields.description),
    tags: Type.Optional(promptFields.tags),
    coverUrl: Type.Optional(promptFields.coverUrl),
    isActive: Type.Optional(promptFields.isActive),
    sortOrder: Type.Optional(promptFields.sortOrder),
  },
  { additionalProperties: false },
);
export type CreatePromptTemplate = Static<typeof CreatePromptTemplateBody>;

export const UpdatePromptTemplateBody = Type.Partial(Type.Object(promptFields), {
  additionalProperties: false,
  minProperties: 1,
});
export type UpdatePromptTemplate = Static<typeof UpdatePromptTemplateBody>;

const paramFields = {
  name: Title,
  description: Description,
  category: Category,
  mode: Mode,
  resolution: Resolution,
  count: ImageCount,
  params: Params,
  coverUrl: CoverUrl,
  isActive: Type.Boolean(),
  sortOrder: SortOrder,
};

export const CreateParamTemplateBody = Type.Object(
  {
    name: paramFields.name,
    category: paramFields.category,
    mode: paramFields.mode,
    resolution: paramFields.resolution,
    count: Type.Optional(paramFields.count),
    description: Type.Optional(paramFields.description),
    params: Type.Optional(paramFields.params),
    coverUrl: Type.Optional(paramFields.coverUrl),
    isActive: Type.Optional(paramFields.isActive),
    sortOrder: Type.Optional(paramFields.sortOrder),
  },
  { additionalProperties: false },
);
export type CreateParamTemplate = Static<typeof CreateParamTemplateBody>;

export const UpdateParamTemplateBody = Type.Partial(Type.Object(paramFields), {
  additionalProperties: false,
  minProperties: 1,
});
export type UpdateParamTemplate = Static<typeof UpdateParamTemplateBody>;

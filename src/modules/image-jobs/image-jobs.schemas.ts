import { Type, type Static } from 'typebox';
import { CursorPageQuery } from '#core/http/pagination.ts';
import { ImageCount, Mode, Params, Resolution } from '#modules/templates/templates.schemas.ts';

const Id = Type.String({ minLength: 1, maxLength: 64 });
const Status = Type.Union([
  Type.Literal('queued'),
  Type.Literal('running'),
  Type.Literal('succeeded'),
  Type.Literal('failed'),
  Type.Literal('canceled'),
]);

/**
 * POST /v1/proxy/images/generate. `prompt`, or a prompt template (`promptTemplateId`) — with both, the
 * prompt is added to the template's; a parameter template (`paramTemplateId`) gives mode, resolution,
 * count and params, which explicit fields override; `characterId` sends the character's photos
 * upstream (face-lock). docs/seed-003.md, Image jobs.
 */
export const GenerateBody = Type.Object(
  {
    prompt: Type.Optional(Type.String({ minLength: 1, maxLength: 4000, pattern: '\\S' })),
    negativePrompt: Type.Optional(Type.String({ maxLength: 4000 })),
    promptTemplateId: Type.Optional(Id),
    paramTemplateId: Type.Optional(Id),
    mode: Type.Optional(Mode),
    resolution: Type.Optional(Resolution),
    count: Type.Optional(ImageCount),
    params: Type.Optional(Params),
    characterId: Type.Optional(Id),
  },
  { additionalProperties: false },
);
export type Generate = Static<typeof GenerateBody>;

export const JobParams = Type.Object({ jobId: Id });

/** GET /v1/proxy/images/price: the settings a job would have (the generate request's defaults when absent). */
export const PriceQuery = Type.Object(
  {
    mode: Type.Optional(Mode),
    resolution: Type.Optional(Resolution),
    count: Type.Optional(ImageCount),
  },
  { additionalProperties: false },
);

export const JobPriceSchema = Type.Object({
  model: Type.String({ description: 'The price name the job would be recorded under (image-job:<mode>:<resolution>)' }),
  mode: Type.String(),
  resolution: Type.String(),
  count: Type.Integer(),
  credits: Type.Integer({ description: 'What the job would hold now: every image asked, at your role and plan' }),
});

export const JobListQuery = Type.Object(
  { ...CursorPageQuery.properties, status: Type.Optional(Status) },
  { additionalProperties: false },
);

const JobImageSchema = Type.Object({
  id: Type.String({ description: 'The upload id (publish it to the gallery by this id)' }),
  url: Type.String(),
  width: Type.Integer(),
  height: Type.Integer(),
});

export const JobSchema = Type.Object({
  id: Type.String(),
  status: Status,
  prompt: Type.String(),
  negativePrompt: Type.Union([Type.String(), Type.Null()]),
  mode: Type.String(),
  resolution: Type.String(),
  count: Type.Integer({ description: 'Images asked for' }),
  params: Type.Record(Type.String(), Type.Union([Type.String(), Type.Number(), Type.Boolean()])),
  characterId: Type.Union([Type.String(), Type.Null()]),
  promptTemplateId: Type.Union([Type.String(), Type.Null()]),
  paramTemplateId: Type.Union([Type.String(), Type.Null()]),
  images: Type.Array(JobImageSchema),
  creditsHeld: Type.Integer({ description: 'Held when accepted: the price of every image asked for' }),
  creditsCharged: Type.Union([Type.Integer(), Type.Null()], {
    description: 'Charged for the images delivered; null until the job is settled',
  }),
  error: Type.Union([Type.Object({ code: Type.String(), message: Type.String() }), Type.Null()]),
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
  finishedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
});
export type JobView = Static<typeof JobSchema>;

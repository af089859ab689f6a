import type { Clock } from '#core/clock.ts';
import { AppError, type ErrorCode } from '#core/errors.ts';
import { keysetPage, type KeysetPage } from '#core/http/pagination.ts';
import { newId } from '#core/ids.ts';
import { seedParamRows, seedPromptRows } from '#migrations/20261207_0013_templates.ts';
import { sortValue, type TemplateSort, type TemplateTable, type TemplatesRepository } from './templates.repository.ts';
import type {
  CreateParamTemplate,
  CreatePromptTemplate,
  ParamTemplate,
  PromptTemplate,
  UpdateParamTemplate,
  UpdatePromptTemplate,
} from './templates.schemas.ts';
import type { ParamTemplateRow, PromptTemplateRow } from './templates.tables.ts';

const iso = (ms: number | string) => new Date(Number(ms)).toISOString();

function parseJson<T>(text: string, fallback: T): T {
  try {
    return JSON.parse(text) as T;
  } catch {
    return fallback;
  }
}

export function toPromptTemplate(row: PromptTemplateRow): PromptTemplate {
  return {
    id: row.id,
    title: row.title,
    prompt: row.prompt,
    negativePrompt: row.negative_prompt,
    description: row.description,
    category: row.category,
    tags: parseJson<string[]>(row.tags, []),
    coverUrl: row.cover_url,
    usageCount: Number(row.usage_count),
    isActive: Number(row.is_active) === 1,
    sortOrder: Number(row.sort_order),
    createdAt: iso(row.created_at),
    updatedAt: iso(row.updated_at),
  };
}

export function toParamTemplate(row: ParamTemplateRow): ParamTemplate {
  const [width = 0, height = 0] = row.resolution.split('x').map(Number);
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    category: row.category,
    mode: row.mode,
    resolution: row.resolution,
    width,
    height,
    count: Number(row.image_count),
    params: parseJson<Record<string, string | number | boolean>>(row.params, {}),
    coverUrl: row.cover_url,
    usageCount: Number(row.usage_count),
    isActive: Number(row.is_active) === 1,
    sortOrder: Number(row.sort_order),
    createdAt: iso(row.created_at),
    updatedAt: iso(row.updated_at),
  };
}

export interface TemplateListOptions {
  page: number;
  limit: number;
  cursor?: string | undefined;
  category?: string | undefined;
  sort?: TemplateSort | undefined;
  trending?: boolean | undefined;
  /** Users: true (only active ones). Admins: undefined (all), or one state. */
  active?: boolean | undefined;
}

/** Fields a parameter template's `params` may not carry: the request's own fields, which it sets itself. */
const RESERVED_PARAMS = new Set([
  'prompt',
  'negativePrompt',
  'mode',
  'resolution',
  'count',
  'width',
  'height',
  'characterId',
  'promptTemplateId',
  'paramTemplateId',
  'referenceImages',
]);
const MIN_SIDE = 64;
const MAX_SIDE = 8192;

const KINDS = {
  prompt: { table: 'prompt_templates', missing: 'PROMPT_TEMPLATE_NOT_FOUND' },
  param: { table: 'param_templates', missing: 'PARAM_TEMPLATE_NOT_FOUND' },
} as const satisfies Record<string, { table: TemplateTable; missing: ErrorCode }>;

/**
 * Seed 003's prompt and parameter templates: the lists users pick from (by category, in the admins'
 * order, by use or newest first), one atomic use counter per template, admins' create/update/delete,
 * and the seed rows `npm run seed` puts back when missing (docs/seed-003.md, Templates).
 * The image-job module reads a template through `promptTemplate`/`paramTemplate` and counts its use.
 */
export class TemplatesService {
  constructor(
    private readonly repository: TemplatesRepository,
    private readonly clock: Clock,
  ) {}

  listPrompts(options: TemplateListOptions): Promise<KeysetPage<PromptTemplate>> {
    return this.list('prompt_templates', options, (row) => toPromptTemplate(row as PromptTemplateRow));
  }

  listParams(options: TemplateListOptions): Promise<KeysetPage<ParamTemplate>> {
    return this.list('param_templates', options, (row) => toParamTemplate(row as ParamTemplateRow));
  }

  private async list<T>(
    table: TemplateTable,
    options: TemplateListOptions,
    view: (row: PromptTemplateRow | ParamTemplateRow) => T,
  ): Promise<KeysetPage<T>> {
    const sort: TemplateSort = options.trending ? 'trending' : (options.sort ?? 'default');
    return keysetPage(
      options,
      (after, offset, limit) =>
        this.repository.list(table, { category: options.category, active: options.active, sort, after }, offset, limit),
      (row) => sortValue(sort, row),
      (rows) => rows.map(view),
    );
  }

  /** An active prompt template (users), or any (admins, `includeHidden`); 404 otherwise. */
  async promptTemplate(id: string, includeHidden = false): Promise<PromptTemplate> {
    const row = await this.repository.find('prompt_templates', id);
    if (!row || (!includeHidden && Number(row.is_active) !== 1)) throw new AppError('PROMPT_TEMPLATE_NOT_FOUND');
    return toPromptTemplate(row);
  }

  async paramTemplate(id: string, includeHidden = false): Promise<ParamTemplate> {
    const row = await this.repository.find('param_templates', id);
    if (!row || (!includeHidden && Number(row.is_active) !== 1)) throw new AppError('PARAM_TEMPLATE_NOT_FOUND');
    return toParamTemplate(row);
  }

  /** Counts one use of an active template, atomically; the count after it. */
  async recordUse(kind: 'prompt' | 'param', id: string): Promise<{ id: string; usageCount: number }> {
    const usageCount = await this.repository.incrementUsage(KINDS[kind].table, id);
    if (usageCount === undefined) throw new AppError(KINDS[kind].missing);
    return { id, usageCount };
  }

  async createPrompt(body: CreatePromptTemplate): Promise<PromptTemplate> {
    const now = this.clock.now();
    const row: PromptTemplateRow = {
      id: newId(),
      title: body.title,
      prompt: body.prompt,
      negative_prompt: body.negativePrompt ?? null,
      description: body.description ?? null,
      category: body.category,
      tags: JSON.stringify(body.tags ?? []),
      cover_url: body.coverUrl ?? null,
      usage_count: 0,
      is_active: body.isActive === false ? 0 : 1,
      sort_order: body.sortOrder ?? 0,
      created_at: now,
      updated_at: now,
    };
    await this.repository.insert('prompt_templates', row);
    return toPromptTemplate(row);
  }

  /** Changes what is sent; the template before and after (for the audit row). */
  async updatePrompt(
    id: string,
    body: UpdatePromptTemplate,
  ): Promise<{ before: PromptTemplate; after: PromptTemplate }> {
    const before = await this.promptTemplate(id, true);
    const patch: Partial<PromptTemplateRow> = { updated_at: this.clock.now() };
    if (body.title !== undefined) patch.title = body.title;
    if (body.prompt !== undefined) patch.prompt = body.prompt;
    if (body.negativePrompt !== undefined) patch.negative_prompt = body.negativePrompt;
    if (body.description !== undefined) patch.description = body.description;
    if (body.category !== undefined) patch.category = body.category;
    if (body.tags !== undefined) patch.tags = JSON.stringify(body.tags);
    if (body.coverUrl !== undefined) patch.cover_url = body.coverUrl;
    if (body.isActive !== undefined) patch.is_active = body.isActive ? 1 : 0;
    if (body.sortOrder !== undefined) patch.sort_order = body.sortOrder;
    if (!(await this.repository.update('prompt_templates', id, patch))) throw new AppError('PROMPT_TEMPLATE_NOT_FOUND');
    return { before, after: await this.promptTemplate(id, true) };
  }

  async createParam(body: CreateParamTemplate): Promise<ParamTemplate> {
    checkParamTemplate(body);
    const now = this.clock.now();
    const row: ParamTemplateRow = {
      id: newId(),
      name: body.name,
      description: body.description ?? null,
      category: body.category,
      mode: body.mode,
      resolution: body.resolution,
      image_count: body.count ?? 1,
      params: JSON.stringify(body.params ?? {}),
      cover_url: body.coverUrl ?? null,
      usage_count: 0,
      is_active: body.isActive === false ? 0 : 1,
      sort_order: body.sortOrder ?? 0,
      created_at: now,
      updated_at: now,
    };
    await this.repository.insert('param_templates', row);
    return toParamTemplate(row);
  }

  async updateParam(id: string, body: UpdateParamTemplate): Promise<{ before: ParamTemplate; after: ParamTemplate }> {
    checkParamTemplate(body);
    const before = await this.paramTemplate(id, true);
    const patch: Partial<ParamTemplateRow> = { updated_at: this.clock.now() };
    if (body.name !== undefined) patch.name = body.name;
    if (body.description !== undefined) patch.description = body.description;
    if (body.category !== undefined) patch.category = body.category;
    if (body.mode !== undefined) patch.mode = body.mode;
    if (body.resolution !== undefined) patch.resolution = body.resolution;
    if (body.count !== undefined) patch.image_count = body.count;
    if (body.params !== undefined) patch.params = JSON.stringify(body.params);
    if (body.coverUrl !== undefined) patch.cover_url = body.coverUrl;
    if (body.isActive !== undefined) patch.is_active = body.isActive ? 1 : 0;
    if (body.sortOrder !== undefined) patch.sort_order = body.sortOrder;
    if (!(await this.repository.update('param_templates', id, patch))) throw new AppError('PARAM_TEMPLATE_NOT_FOUND');
    return { before, after: await this.paramTemplate(id, true) };
  }

  /** Deletes a template (hidden or not); the template as it was. 404 when there is none. */
  async remove(kind: 'prompt' | 'param', id: string): Promise<PromptTemplate | ParamTemplate> {
    const before = kind === 'prompt' ? await this.promptTemplate(id, true) : await this.paramTemplate(id, true);
    if (!(await this.repository.delete(KINDS[kind].table, id))) throw new AppError(KINDS[kind].missing);
    return before;
  }

  /**
   * Puts back every seed template (10 prompt, 8 parameter) whose id no row has, leaving the others
   * as they are (an admin's edits, their counters); safe to run again and from several places at once.
   */
  async seedMissing(): Promise<{ prompts: number; params: number }> {
    const now = this.clock.now();
    const prompts = await this.repository.insertMissing('prompt_templates', seedPromptRows(now));
    const params = await this.repository.insertMissing('param_templates', seedParamRows(now));
    return { prompts, params };
  }
}

/** What the schema cannot say of a parameter template: its sides' range and the names `params` may use. */
function checkParamTemplate(body: { resolution?: string | undefined; params?: Record<string, unknown> | undefined }) {
  if (body.resolution !== undefined) {
    const sides = body.resolution.split('x').map(Number);
    if (sides.some((side) => side < MIN_SIDE || side > MAX_SIDE))
      throw new AppError('PARAM_TEMPLATE_INVALID', {
        detail: `resolution: each side must be ${MIN_SIDE} to ${MAX_SIDE} pixels`,
      });
  }
  const reserved = Object.keys(body.params ?? {}).filter((key) => RESERVED_PARAMS.has(key));
  if (reserved.length > 0)
    throw new AppError('PARAM_TEMPLATE_INVALID', {
      detail: `params may not set ${reserved.join(', ')}; use the template's own fields`,
    });
}

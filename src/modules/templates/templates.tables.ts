import type { Selectable } from 'kysely';

/** A ready prompt a user starts from (seed 003's PromptTemplate). */
export interface PromptTemplatesTable {
  id: string;
  title: string;
  prompt: string;
  negative_prompt: string | null;
  description: string | null;
  /** A short slug (`portrait`, `anime`, …): what `?category=` filters on. */
  category: string;
  /** JSON: string[]. */
  tags: string;
  cover_url: string | null;
  /** How often it was used: one atomic counter, raised by `POST …/usage`. */
  usage_count: number;
  /** 1: shown to users; 0: hidden (only admins see it). */
  is_active: number;
  /** The order of the default list, ascending. */
  sort_order: number;
  created_at: number;
  updated_at: number;
}

/** A ready set of generation settings (seed 003's ParamTemplate): mode, resolution, image count and the rest. */
export interface ParamTemplatesTable {
  id: string;
  name: string;
  description: string | null;
  category: string;
  /** The generation mode (`fast`, `standard`, `hd`, …), as the image-job request names it. */
  mode: string;
  /** `WIDTHxHEIGHT` in pixels. */
  resolution: string;
  /** Images per request. */
  image_count: number;
  /** JSON: the other settings, an object of scalar values (`steps`, `guidanceScale`, …). */
  params: string;
  cover_url: string | null;
  usage_count: number;
  is_active: number;
  sort_order: number;
  created_at: number;
  updated_at: number;
}

export interface TemplatesTables {
  prompt_templates: PromptTemplatesTable;
  param_templates: ParamTemplatesTable;
}

export type PromptTemplateRow = Selectable<PromptTemplatesTable>;
export type ParamTemplateRow = Selectable<ParamTemplatesTable>;
export type TemplateKind = 'prompt' | 'param';

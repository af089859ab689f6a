import type { ParamTemplate, PromptTemplate } from '@/api/admin-catalog.ts';

export interface TemplateFields {
  title?: string;
  name?: string;
  prompt?: string;
  negativePrompt?: string;
  description?: string;
  category: string;
  tags?: string[];
  mode?: string;
  resolution?: string;
  count?: number | null;
  params?: string;
  coverUrl?: string;
  isActive: boolean;
  sortOrder?: number | null;
}

type Scalar = string | number | boolean;

/** `name=value` lines as a parameter template's settings (numbers and true/false as such); null when a line is not one. */
export function parseParams(text: string | undefined): Record<string, Scalar> | null {
  const params: Record<string, Scalar> = {};
  for (const line of (text ?? '').split('\n').map((l) => l.trim())) {
    if (!line) continue;
    const at = line.indexOf('=');
    const name = line.slice(0, at).trim();
    const raw = line.slice(at + 1).trim();
    if (at < 1 || !/^[A-Za-z][A-Za-z0-9_]{0,39}$/.test(name)) return null;
    params[name] =
      raw === 'true' ? true : raw === 'false' ? false : raw !== '' && !isNaN(Number(raw)) ? Number(raw) : raw;
  }
  return params;
}

const text = (value: string | undefined) => value?.trim() || null;

/** The body a template form sends (the API's field names; empty optional text is null). */
export function templateBody(kind: 'prompts' | 'params', f: TemplateFields): Record<string, unknown> {
  const common = {
    category: f.category.trim(),
    description: text(f.description),
    coverUrl: text(f.coverUrl),
    isActive: f.isActive,
    sortOrder: f.sortOrder ?? 0,
  };
  if (kind === 'prompts')
    return {
      ...common,
      title: f.title!.trim(),
      prompt: f.prompt!,
      negativePrompt: text(f.negativePrompt),
      tags: f.tags ?? [],
    };
  return {
    ...common,
    name: f.name!.trim(),
    mode: f.mode!.trim(),
    resolution: f.resolution!.trim(),
    count: f.count ?? 1,
    params: parseParams(f.params) ?? {},
  };
}

export function templateFields(template: PromptTemplate | ParamTemplate | undefined): Partial<TemplateFields> {
  if (!template) return { isActive: true, sortOrder: 0, count: 1, mode: 'standard', resolution: '1024x1024' };
  const common = {
    category: template.category,
    description: template.description ?? '',
    coverUrl: template.coverUrl ?? '',
    isActive: template.isActive,
    sortOrder: template.sortOrder,
  };
  if ('prompt' in template)
    return {
      ...common,
      title: template.title,
      prompt: template.prompt,
      negativePrompt: template.negativePrompt ?? '',
      tags: template.tags,
    };
  return {
    ...common,
    name: template.name,
    mode: template.mode,
    resolution: template.resolution,
    count: template.count,
    params: Object.entries(template.params)
      .map(([name, value]) => `${name}=${String(value)}`)
      .join('\n'),
  };
}

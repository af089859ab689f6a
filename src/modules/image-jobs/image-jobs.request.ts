import { AppError } from '#core/errors.ts';
import type { CharactersService } from '#modules/characters/characters.service.ts';
import type { TemplatesService } from '#modules/templates/templates.service.ts';
import type { Generate } from './image-jobs.schemas.ts';

export const DEFAULT_MODE = 'standard';
export const DEFAULT_RESOLUTION = '1024x1024';

/** A generation request with its templates applied: what is priced, kept with the job and sent upstream. */
export interface ResolvedRequest {
  prompt: string;
  negativePrompt: string | null;
  mode: string;
  resolution: string;
  count: number;
  params: Record<string, string | number | boolean>;
  /** The character's photos, absolute URLs the upstream can fetch. */
  referenceImages: string[];
  /** The templates used, to count their use once the job is written. */
  promptTemplateId: string | undefined;
  paramTemplateId: string | undefined;
  /** The body the job API is sent: the request as received, with the fields it resolved. */
  upstreamBody: Record<string, unknown>;
}

/**
 * Applies the request's templates (explicit fields win; a prompt is added to the template's, after a
 * comma) and reads the character's photos (404 for a character that is not the caller's). `origin`
 * (scheme://host of the request) makes a photo stored under a relative URL absolute.
 */
export async function resolveRequest(
  deps: { templates: TemplatesService; characters: CharactersService },
  userId: string,
  origin: string,
  body: Generate,
): Promise<ResolvedRequest> {
  const promptTemplate = body.promptTemplateId ? await deps.templates.promptTemplate(body.promptTemplateId) : undefined;
  const paramTemplate = body.paramTemplateId ? await deps.templates.paramTemplate(body.paramTemplateId) : undefined;
  const prompt = [promptTemplate?.prompt, body.prompt].filter(Boolean).join(', ');
  if (!prompt) throw new AppError('VALIDATION_FAILED', { detail: 'prompt or promptTemplateId is required' });
  const mode = body.mode ?? paramTemplate?.mode ?? DEFAULT_MODE;
  const resolution = body.resolution ?? paramTemplate?.resolution ?? DEFAULT_RESOLUTION;
  const count = body.count ?? paramTemplate?.count ?? 1;
  const params = { ...paramTemplate?.params, ...body.params };
  const negativePrompt = body.negativePrompt ?? promptTemplate?.negativePrompt ?? null;
  const photos = body.characterId ? await deps.characters.photoUrls(userId, body.characterId) : [];
  const [width, height] = resolution.split('x').map(Number);
  return {
    prompt,
    negativePrompt,
    mode,
    resolution,
    count,
    params,
    referenceImages: photos.map((url) => new URL(url, origin).href),
    promptTemplateId: promptTemplate?.id,
    paramTemplateId: paramTemplate?.id,
    upstreamBody: { ...body, ...params, prompt, negativePrompt, mode, resolution, width, height, count, params },
  };
}

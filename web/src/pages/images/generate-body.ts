import type { GenerateRequest, PromptTemplate } from '@/api/images.ts';

export interface GenerateForm {
  promptTemplateId?: string;
  prompt: string;
  negativePrompt?: string;
  paramTemplateId?: string;
  mode: string;
  resolution: string;
  count: number;
  characterId?: string;
}

/**
 * The request for what the form holds. Picking a prompt template fills the prompt with the template's;
 * the server adds a sent prompt after the template's, so while the text still starts with the
 * template's prompt only what was added is sent beside the template's id. A prompt rewritten from the
 * start is sent alone (the template is then not used). Mode, resolution and count are sent as shown
 * (they win over the parameter template, whose other settings still apply).
 */
export function generateBody(form: GenerateForm, template: PromptTemplate | undefined): GenerateRequest {
  const prompt = form.prompt.trim();
  const body: GenerateRequest = {
    mode: form.mode,
    resolution: form.resolution,
    count: form.count,
    negativePrompt: form.negativePrompt?.trim() || undefined,
    paramTemplateId: form.paramTemplateId || undefined,
    characterId: form.characterId || undefined,
  };
  if (template && prompt.startsWith(template.prompt)) {
    const added = prompt.slice(template.prompt.length).replace(/^[\s,，]+/, '');
    return { ...body, promptTemplateId: template.id, prompt: added || undefined };
  }
  return { ...body, prompt };
}

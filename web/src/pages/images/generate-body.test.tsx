import { describe, expect, it } from 'vitest';
import type { PromptTemplate } from '@/api/images.ts';
import { generateBody, type GenerateForm } from './generate-body.ts';

const TEMPLATE: PromptTemplate = {
  id: 'tpl-1',
  title: 'Portrait',
  prompt: 'soft light portrait',
  negativePrompt: 'blurry',
  description: null,
  category: 'portrait',
  tags: [],
  usageCount: 0,
};
const FORM: GenerateForm = { prompt: '', mode: 'standard', resolution: '1024x1024', count: 1 };

describe('generateBody', () => {
  it('a prompt template left as filled in is sent by id, with only what the user added after it', () => {
    expect(generateBody({ ...FORM, prompt: 'soft light portrait' }, TEMPLATE)).toMatchObject({
      promptTemplateId: 'tpl-1',
      prompt: undefined,
    });
    expect(generateBody({ ...FORM, prompt: 'soft light portrait, red scarf ' }, TEMPLATE)).toMatchObject({
      promptTemplateId: 'tpl-1',
      prompt: 'red scarf',
    });
  });

  it('a prompt rewritten from the start is sent alone; empty optional fields are left out', () => {
    const body = generateBody({ ...FORM, prompt: ' a cat ', negativePrompt: ' ', characterId: '' }, TEMPLATE);
    expect(body).toEqual({ prompt: 'a cat', mode: 'standard', resolution: '1024x1024', count: 1 });
  });

  it('the settings shown are sent beside the parameter template and the character', () => {
    const body = generateBody(
      { ...FORM, prompt: 'x', paramTemplateId: 'p-3', mode: 'hd', count: 2, characterId: 'c-1' },
      undefined,
    );
    expect(body).toMatchObject({ paramTemplateId: 'p-3', mode: 'hd', count: 2, characterId: 'c-1' });
  });
});

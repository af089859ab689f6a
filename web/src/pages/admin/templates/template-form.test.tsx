import { describe, expect, it } from 'vitest';
import { parseParams, templateBody, templateFields } from './template-form.ts';

describe('template forms', () => {
  it('reads a parameter template’s settings as name=value lines, numbers and true/false as such', () => {
    expect(parseParams('steps=30\nguidanceScale = 7.5\n\nstyle=vivid\nhd=true\nseed=')).toEqual({
      steps: 30,
      guidanceScale: 7.5,
      style: 'vivid',
      hd: true,
      seed: '',
    });
    expect(parseParams('=3')).toBeNull();
    expect(parseParams('no value')).toBeNull();
    expect(parseParams('9lives=1')).toBeNull();
  });

  it('sends empty optional text as null, and round-trips a parameter template', () => {
    expect(
      templateBody('prompts', {
        title: ' Neon ',
        prompt: 'A city',
        category: ' scifi ',
        negativePrompt: ' ',
        isActive: true,
      }),
    ).toEqual({
      title: 'Neon',
      prompt: 'A city',
      category: 'scifi',
      negativePrompt: null,
      description: null,
      coverUrl: null,
      tags: [],
      isActive: true,
      sortOrder: 0,
    });
    const fields = templateFields({
      id: 'p1',
      name: 'Poster',
      description: null,
      category: 'product',
      mode: 'hd',
      resolution: '1024x1792',
      width: 1024,
      height: 1792,
      count: 2,
      params: { steps: 30, hd: true },
      coverUrl: null,
      usageCount: 0,
      isActive: false,
      sortOrder: 3,
      createdAt: '',
      updatedAt: '',
    });
    expect(templateBody('params', fields as Parameters<typeof templateBody>[1])).toEqual({
      name: 'Poster',
      category: 'product',
      description: null,
      coverUrl: null,
      mode: 'hd',
      resolution: '1024x1792',
      count: 2,
      params: { steps: 30, hd: true },
      isActive: false,
      sortOrder: 3,
    });
  });
});

import { describe, expect, it } from 'vitest';
import { AREAS_EN, commonEn, en } from './en.ts';
import { zh } from './zh.ts';

describe('the console strings', () => {
  it('define each key once: an area cannot silently replace another area’s (or a shared) string', () => {
    const seen = new Map<string, number>();
    for (const [i, part] of [commonEn, ...AREAS_EN].entries())
      for (const key of Object.keys(part)) {
        expect(seen.has(key), `"${key}" is in part ${seen.get(key)} and part ${i}`).toBe(false);
        seen.set(key, i);
      }
    expect(Object.keys(en).length).toBe(seen.size);
  });

  it('say something in both languages for every key, with the same {placeholders}', () => {
    for (const key of Object.keys(en) as (keyof typeof en)[]) {
      expect(zh[key], key).toBeTruthy();
      const names = (text: string) => [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
      expect(names(zh[key]), key).toEqual(names(en[key]));
    }
  });
});

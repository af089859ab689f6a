import { describe, expect, it } from 'vitest';
import { planBody, toFen } from './plan-form.ts';

const FIELDS = { code: ' pro ', name: ' 专业版 ', level: 2, priceYuan: 29.9, lifetime: false, durationDays: 30 };

describe('planBody', () => {
  it('sends the price in fen, one benefit a line, and no English lines as null', () => {
    expect(toFen(29.9)).toBe(2990);
    expect(toFen(0.07)).toBe(7);
    expect(
      planBody({ ...FIELDS, benefits: '每日 100 次\n\n  专属客服 ', benefitsEn: '  \n', nameEn: ' ' }, true),
    ).toEqual({
      code: 'pro',
      name: '专业版',
      nameEn: null,
      description: null,
      level: 2,
      price: 2990,
      durationDays: 30,
      benefits: ['每日 100 次', '专属客服'],
      benefitsEn: null,
      sortOrder: 0,
      entitlements: {
        creditsOnActivation: 0,
        allowances: [],
        models: null,
        rateLimits: null,
        multiplierPermille: 1000,
      },
    });
  });

  it('a lifetime plan has no days; rate limits are all sent once one is set; the code is not sent on edit', () => {
    const body = planBody({ ...FIELDS, lifetime: true, rpm: 60, nameEn: 'Pro', benefitsEn: 'Fast' }, false);
    expect(body.durationDays).toBeNull();
    expect(body.entitlements.rateLimits).toEqual({ rpm: 60, tpm: 0, concurrency: 0, rpd: 0 });
    expect(body).not.toHaveProperty('code');
    expect(body).toMatchObject({ nameEn: 'Pro', benefitsEn: ['Fast'] });
  });
});

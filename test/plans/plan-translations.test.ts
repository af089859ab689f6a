import type { Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { down, up } from '#migrations/20261208_0016_plan_translations.ts';
import { ADMIN_ENV, adminToken, backends, call, createTestApp, type TestApp } from '#test/helpers/test-app.ts';

interface PlanJson {
  id: string;
  code: string;
  name: string;
  benefits: string[];
  nameEn: string | null;
  benefitsEn: string[] | null;
}

/** A plan's optional English name and benefits (migration 0016, docs/plans.md, Languages). */
describe.each(backends())('plan translations on $label', (backend) => {
  let t: TestApp;
  let admin: string;

  beforeAll(async () => {
    t = await createTestApp(backend, { env: ADMIN_ENV });
    admin = await adminToken(t);
  });
  afterAll(() => t?.close());

  const offered = async () => (await call(t.app, 'GET', '/api/plans')).json<PlanJson[]>();
  const adminPlan = async (id: string) =>
    (await call(t.app, 'GET', '/api/admin/plans?includeRetired=true', { token: admin }))
      .json<PlanJson[]>()
      .find((p) => p.id === id);

  it('a new database offers the seed plans with English names and benefits beside their Chinese ones', async () => {
    const plans = await offered();
    expect(plans.map((p) => [p.code, p.nameEn])).toEqual([
      ['monthly', 'Monthly'],
      ['yearly', 'Yearly'],
      ['lifetime', 'Lifetime'],
    ]);
    const monthly = plans[0]!;
    expect(monthly.benefits[0]).toBe('每月赠送 3000 积分');
    expect(monthly.benefitsEn).toEqual([
      '3,000 bonus credits a month',
      '500 requests a day',
      '200,000 tokens a day',
      'Calls cost 10% less',
    ]);
    // Seed 003's surface keeps its shape: the plan's own name.
    const vip = (await call(t.app, 'GET', '/v1/vip/plans')).json<{ data: PlanJson[] }>().data;
    expect(vip[0]).toMatchObject({ code: 'monthly', name: 'Monthly' });
  });

  it('an admin gives a plan English lines, changes and removes them; a plan without them has null', async () => {
    const created = await call(t.app, 'POST', '/api/admin/plans', {
      token: admin,
      body: {
        code: `tr-${backend.label.replace('+', '-')}`,
        name: '畅享版',
        level: 7,
        price: 1990,
        durationDays: 30,
        benefits: ['每日 100 次请求'],
        nameEn: 'Plus',
        benefitsEn: ['100 requests a day', 'Email support'],
      },
    });
    expect(created.statusCode).toBe(201);
    const plan = created.json<PlanJson>();
    expect(plan).toMatchObject({ name: '畅享版', nameEn: 'Plus', benefitsEn: ['100 requests a day', 'Email support'] });
    expect((await offered()).find((p) => p.id === plan.id)).toMatchObject({ nameEn: 'Plus' });

    const renamed = await call(t.app, 'PATCH', `/api/admin/plans/${plan.id}`, {
      token: admin,
      body: { nameEn: 'Plus+', benefitsEn: ['100 requests a day'] },
    });
    expect(renamed.json()).toMatchObject({ name: '畅享版', nameEn: 'Plus+', benefitsEn: ['100 requests a day'] });
    const audit = await call(t.app, 'GET', `/api/admin/audit?targetType=plan&targetId=${plan.id}`, { token: admin });
    expect(audit.json<{ items: unknown[] }>().items[0]).toMatchObject({
      before: { nameEn: 'Plus' },
      after: { nameEn: 'Plus+' },
    });

    // An empty list is no English benefits; null removes the name.
    const cleared = await call(t.app, 'PATCH', `/api/admin/plans/${plan.id}`, {
      token: admin,
      body: { nameEn: null, benefitsEn: [] },
    });
    expect(cleared.json()).toMatchObject({ nameEn: null, benefitsEn: null, benefits: ['每日 100 次请求'] });

    const bare = await call(t.app, 'POST', '/api/admin/plans', {
      token: admin,
      body: { code: `bare-${backend.label.replace('+', '-')}`, name: 'Bare', level: 8, price: 0, durationDays: null },
    });
    expect(bare.json()).toMatchObject({ nameEn: null, benefitsEn: null });
  });

  it('bad English lines are refused and change nothing', async () => {
    const monthly = (await offered()).find((p) => p.code === 'monthly');
    for (const body of [{ nameEn: '' }, { nameEn: 'x'.repeat(101) }, { benefitsEn: [''] }, { benefitsEn: 'fast' }]) {
      const res = await call(t.app, 'PATCH', `/api/admin/plans/${monthly!.id}`, { token: admin, body });
      expect(res.statusCode, JSON.stringify(body)).toBe(400);
    }
    expect(await adminPlan(monthly!.id)).toMatchObject({ nameEn: 'Monthly', benefitsEn: monthly!.benefitsEn });
  });

  it('the migration leaves a seed plan whose benefits an admin rewrote without stale English', async () => {
    const db = t.app.services.database.db;
    const raw = db as unknown as Kysely<unknown>;
    await down(raw);
    await db
      .updateTable('plans')
      .set({ benefits: JSON.stringify(['自定义权益']) })
      .where('code', '=', 'lifetime')
      .execute();
    await up(raw);
    const rows = await db.selectFrom('plans').select(['code', 'name_en', 'benefits_en']).execute();
    const byCode = new Map(rows.map((r) => [r.code, r]));
    expect(byCode.get('lifetime')).toMatchObject({ name_en: null, benefits_en: null });
    expect(byCode.get('yearly')?.name_en).toBe('Yearly');
  });
});

import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConsoleEnv, UPSTREAM_KEY } from './support/console-env.ts';
import { DESKTOP, go, openPage, PHONE, reviewPage, signUpThroughApi, type Viewport } from './support/pages.ts';

/** The words the test looks for, as the console shows them (web/src/i18n, areas/adminCatalog.ts). */
const WORDS = {
  'zh-CN': {
    menu: '菜单',
    save: '保存',
    name: '名称',
    model: '模型',
    navChannels: '渠道',
    newChannel: '新建渠道',
    baseUrl: '接口地址',
    apiKey: 'API 密钥',
    models: '模型',
    test: '测试',
    testOk: /可用 · \d+ 毫秒 · HTTP 200/,
    navPrices: '价格',
    newPrice: '新建价格',
    inputPer1k: '每千输入 Token',
    outputPer1k: '每千输出 Token',
    newImagePrice: '新建图片任务价格',
    perImage: '每张图片',
    imageJobPrices: '图片任务价格',
    navAdminPlans: '套餐管理',
    newPlan: '新建套餐',
    planCode: '代码',
    planNameEn: '英文名称',
    price: '价格（人民币）',
    days: '天数',
    benefits: '权益',
    benefitsEn: '英文权益',
    navRedeem: '兑换码',
    count: '数量',
    creditsEach: '每个积分',
    note: '备注',
    createBatch: '生成批次',
    batchId: '批次 ID',
    exportCsv: '导出 CSV',
    disable: '停用',
    disabledState: '已停用',
    navCredits: '积分',
    redeemCode: '兑换码',
    redeemNow: '兑换',
    codeDisabled: '兑换码已停用',
    navPlans: '套餐与订单',
    navTemplates: '模板',
    newPromptTemplate: '新建提示词模板',
    templateTitle: '标题',
    prompt: '提示词',
    category: '分类',
    navGallery: '画廊审核',
    takeDown: '下架',
  },
  en: {
    menu: 'Menu',
    save: 'Save',
    name: 'Name',
    model: 'Model',
    navChannels: 'Channels',
    newChannel: 'New channel',
    baseUrl: 'Base URL',
    apiKey: 'API key',
    models: 'Models',
    test: 'Test',
    testOk: /Works · \d+ ms · HTTP 200/,
    navPrices: 'Prices',
    newPrice: 'New price',
    inputPer1k: 'Input per 1K tokens',
    outputPer1k: 'Output per 1K tokens',
    newImagePrice: 'New image-job price',
    perImage: 'Per image',
    imageJobPrices: 'Image-job prices',
    navAdminPlans: 'Plan catalog',
    newPlan: 'New plan',
    planCode: 'Code',
    planNameEn: 'English name',
    price: 'Price (CNY)',
    days: 'Days',
    benefits: 'Benefits',
    benefitsEn: 'English benefits',
    navRedeem: 'Redeem codes',
    count: 'How many codes',
    creditsEach: 'Credits each',
    note: 'Note',
    createBatch: 'Create batch',
    batchId: 'Batch id',
    exportCsv: 'Export CSV',
    disable: 'Disable',
    disabledState: 'Disabled',
    navCredits: 'Credits',
    redeemCode: 'Redeem code',
    redeemNow: 'Redeem',
    codeDisabled: 'This redeem code has been disabled',
    navPlans: 'Plans & orders',
    navTemplates: 'Templates',
    newPromptTemplate: 'New prompt template',
    templateTitle: 'Title',
    prompt: 'Prompt',
    category: 'Category',
    navGallery: 'Gallery moderation',
    takeDown: 'Take down',
  },
} as const;
type Lang = keyof typeof WORDS;

interface Listed<T> {
  items: T[];
}

describe('the admin catalog pages in Chromium, against a running Tollgate', () => {
  let env: ConsoleEnv;

  beforeAll(async () => {
    env = await ConsoleEnv.start();
  }, 240_000);
  afterAll(() => env?.close());

  const flows: [Lang, Viewport][] = [
    ['zh-CN', DESKTOP],
    ['en', PHONE],
  ];
  for (const [lang, viewport] of flows) {
    it(`an admin sets up a channel, a price, a plan, redeem codes and a template and moderates the gallery; a user sees the results (${lang}, ${viewport.name})`, async () => {
      const w = WORDS[lang];
      const tag = lang === 'en' ? 'en' : 'zh';
      const admin = await openPage(env.browser, lang, viewport);
      const user = await openPage(env.browser, lang, viewport);
      const shot = (name: string) => reviewPage(admin, { lang, viewport, name });
      const open = (item: string) => go(admin, viewport, w.menu, item);
      await signUpThroughApi(env, admin, `catalog-admin-${tag}@example.com`, { admin: true, path: '/admin/channels' });
      await signUpThroughApi(env, user, `catalog-user-${tag}@example.com`, { path: '/dashboard/credits' });

      // A channel to the fake OpenAI, tested from its row: the result and the latency show.
      const channel = `fake-openai-${tag}`;
      await admin.getByRole('button', { name: w.newChannel }).click();
      await admin.getByLabel(w.name, { exact: true }).fill(channel);
      await admin.getByLabel(w.baseUrl, { exact: true }).fill(env.openai.url);
      await admin.getByLabel(w.apiKey, { exact: true }).fill(UPSTREAM_KEY);
      await admin.getByLabel(w.models, { exact: true }).fill('gpt-4o-mini');
      await admin.keyboard.press('Enter');
      await admin.getByRole('button', { name: w.save }).click();
      await admin.getByRole('button', { name: `${w.test}: ${channel}` }).click();
      await admin.getByText(w.testOk).waitFor();
      const channels = await env.admin<Listed<{ name: string; models: string[]; apiKeyPreview: string }>>(
        'GET',
        '/api/admin/channels',
      );
      expect(channels.items.find((c) => c.name === channel)).toMatchObject({ models: ['gpt-4o-mini'] });
      expect(await admin.getByText(UPSTREAM_KEY).count()).toBe(0);
      await shot('admin-channels');

      // A model's price, with decimals shown as the API holds them.
      const model = `acme-${tag}`;
      await open(w.navPrices);
      await admin.getByRole('button', { name: w.newPrice }).click();
      await admin.getByLabel(w.model, { exact: true }).fill(model);
      await admin.getByLabel(w.inputPer1k, { exact: true }).fill('0.0015');
      await admin.getByLabel(w.outputPer1k, { exact: true }).fill('2');
      await admin.getByRole('button', { name: w.save }).click();
      await admin
        .getByRole('row', { name: new RegExp(model) })
        .getByRole('cell', { name: '0.0015', exact: true })
        .waitFor();
      const prices = await env.admin<Listed<{ model: string; input: number; output: number }>>(
        'GET',
        '/api/admin/pricing',
      );
      expect(prices.items.find((p) => p.model === model)).toMatchObject({ input: 0.0015, output: 2 });

      // An image-job price lands in its own group.
      const imageJob = lang === 'en' ? 'image-job:fast' : 'image-job:hd:1024x1792';
      await admin.getByRole('button', { name: w.newImagePrice }).click();
      await admin.getByLabel(w.model, { exact: true }).fill(imageJob);
      await admin.getByLabel(w.perImage, { exact: true }).fill('75');
      await admin.getByRole('button', { name: w.save }).click();
      await admin
        .getByRole('region', { name: w.imageJobPrices })
        .getByRole('row', { name: new RegExp(imageJob) })
        .getByRole('cell', { name: '75', exact: true })
        .waitFor();
      const imagePrices = await env.admin<Listed<{ model: string; perImage: number }>>('GET', '/api/admin/pricing');
      expect(imagePrices.items.find((p) => p.model === imageJob)).toMatchObject({ perImage: 75 });
      await shot('admin-prices');

      // A plan in Chinese with English lines: an English visitor sees the English, a Chinese one the Chinese.
      const code = `global-${tag}`;
      await open(w.navAdminPlans);
      await admin.getByRole('button', { name: w.newPlan }).click();
      await admin.getByLabel(w.planCode, { exact: true }).fill(code);
      await admin.getByLabel(w.name, { exact: true }).fill('环球版');
      await admin.getByLabel(w.planNameEn, { exact: true }).fill('Global');
      await admin.getByLabel(w.price, { exact: true }).fill('19.90');
      await admin.getByLabel(w.days, { exact: true }).fill('30');
      await admin.getByLabel(w.benefits, { exact: true }).fill('每日 50 次请求\n专属客服');
      await admin.getByLabel(w.benefitsEn, { exact: true }).fill('Fifty calls a day\nPersonal support');
      await admin.getByRole('button', { name: w.save }).click();
      await admin.getByText(code, { exact: true }).waitFor();
      const offered = (await (await fetch(`${env.url}/api/plans`)).json()) as { code: string }[];
      expect(offered.find((p) => p.code === code)).toMatchObject({
        name: '环球版',
        nameEn: 'Global',
        price: 1990,
        durationDays: 30,
        benefitsEn: ['Fifty calls a day', 'Personal support'],
      });
      await shot('admin-plans');

      await go(user, viewport, w.menu, w.navPlans);
      const card = user.getByTestId(`plan-${code}`);
      await card.waitFor();
      const seedCard = user.getByTestId('plan-monthly');
      if (lang === 'en') {
        await card.getByText('Fifty calls a day').waitFor();
        expect(await card.innerText()).toContain('Global');
        expect(await card.innerText()).not.toContain('环球版');
        expect(await seedCard.innerText()).toContain('500 requests a day');
        expect(await seedCard.innerText()).not.toContain('每日 500 次请求');
      } else {
        await card.getByText('每日 50 次请求').waitFor();
        expect(await card.innerText()).toContain('环球版');
        expect(await card.innerText()).not.toContain('Fifty calls a day');
        expect(await seedCard.innerText()).toContain('每日 500 次请求');
      }

      // A batch of codes made in the admin pages, exported as CSV: the download holds the batch's codes.
      await open(w.navRedeem);
      await admin.getByLabel(w.count, { exact: true }).fill('3');
      await admin.getByLabel(w.creditsEach, { exact: true }).fill('250');
      await admin.getByLabel(w.note, { exact: true }).fill(`console ${tag}`);
      await admin.getByRole('button', { name: w.createBatch }).click();
      const batchField = admin.getByLabel(w.batchId, { exact: true });
      await expect.poll(() => batchField.inputValue()).toMatch(/\S{8,}/);
      const batchId = await batchField.inputValue();
      const listed = await env.admin<Listed<{ id: string; code: string; credits: number; state: string }>>(
        'GET',
        `/api/admin/redeem-codes?batchId=${batchId}`,
      );
      expect(listed.items).toHaveLength(3);
      expect(listed.items.every((c) => c.credits === 250 && c.state === 'active')).toBe(true);
      const [download] = await Promise.all([
        admin.waitForEvent('download'),
        admin.getByRole('button', { name: w.exportCsv }).click(),
      ]);
      const csv = readFileSync(await download.path(), 'utf8');
      const exported = csv
        .replace(/^\uFEFF/, '')
        .trim()
        .split(/\r?\n/)
        .slice(1)
        .map((line) => line.split(',')[0]);
      expect(exported.sort()).toEqual(listed.items.map((c) => c.code).sort());
      const [good, blocked] = listed.items;
      await shot('admin-redeem');

      // One code disabled from its row.
      await admin.getByRole('button', { name: `${w.disable}: ${blocked!.code}` }).click();
      await admin.getByRole('button', { name: w.disable, exact: true }).click();
      await admin
        .getByRole('row', { name: new RegExp(blocked!.code) })
        .getByText(w.disabledState)
        .waitFor();
      const afterDisable = await env.admin<Listed<{ id: string; state: string }>>(
        'GET',
        `/api/admin/redeem-codes?batchId=${batchId}&state=disabled`,
      );
      expect(afterDisable.items.map((c) => c.id)).toEqual([blocked!.id]);

      // The user redeems a good code (the balance rises by 250) and the disabled one (the API's refusal, nothing changes).
      const balance = async () =>
        ((await (await user.request.get(`${env.url}/api/credits/balance`)).json()) as { available: number }).available;
      await go(user, viewport, w.menu, w.navCredits);
      const before = await balance();
      await user.getByLabel(w.redeemCode, { exact: true }).fill(good!.code);
      await user.getByRole('button', { name: w.redeemNow, exact: true }).click();
      // The ledger's new line, and the balance at the top.
      await user.getByRole('cell', { name: '+250', exact: true }).waitFor();
      await user
        .getByText((before + 250).toLocaleString('en-US'), { exact: true })
        .first()
        .waitFor();
      expect(await balance()).toBe(before + 250);
      await user.getByLabel(w.redeemCode, { exact: true }).fill(blocked!.code);
      await user.getByRole('button', { name: w.redeemNow, exact: true }).click();
      await user.getByText(w.codeDisabled).waitFor();
      expect(await balance()).toBe(before + 250);

      // A prompt template.
      const title = `Neon city ${tag}`;
      await open(w.navTemplates);
      await admin.getByRole('button', { name: w.newPromptTemplate }).click();
      await admin.getByLabel(w.templateTitle, { exact: true }).fill(title);
      await admin.getByLabel(w.prompt, { exact: true }).fill('A neon city at night, rain, reflections');
      await admin.getByLabel(w.category, { exact: true }).fill('scifi');
      await admin.getByRole('button', { name: w.save }).click();
      await admin.getByText(title, { exact: true }).waitFor();
      const templates = (await (await fetch(`${env.url}/v1/templates/prompts?sort=newest`)).json()) as {
        data: Listed<{ title: string; category: string }>;
      };
      expect(templates.data.items.find((t) => t.title === title)).toMatchObject({ category: 'scifi' });
      await shot('admin-templates');

      // The newest gallery image taken down: it leaves the public gallery.
      const gallery = async () =>
        (
          (await (await fetch(`${env.url}/v1/gallery/images`)).json()) as {
            data: Listed<{ id: string; title: string }>;
          }
        ).data.items;
      const [newest] = await gallery();
      expect(newest).toBeDefined();
      await open(w.navGallery);
      await admin.getByRole('heading', { name: newest!.title }).waitFor();
      await shot('admin-gallery');
      await admin.getByRole('button', { name: `${w.takeDown}: ${newest!.title}` }).click();
      await admin.getByRole('button', { name: w.takeDown, exact: true }).click();
      await admin.getByRole('heading', { name: newest!.title }).waitFor({ state: 'detached' });
      expect((await gallery()).map((image) => image.id)).not.toContain(newest!.id);

      expect(admin.problems).toEqual([]);
      expect(user.problems).toEqual([]);
      await admin.context().close();
      await user.context().close();
    }, 240_000);
  }
});

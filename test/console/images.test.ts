import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeImageJobs } from '#test/fakes/image-jobs.ts';
import { png } from '#test/storage/images.ts';
import { ConsoleEnv } from './support/console-env.ts';
import { DESKTOP, go, openPage, PHONE, reviewPage, signUpThroughApi, type Viewport } from './support/pages.ts';

/** The words the test looks for, as the console shows them (web/src/i18n/areas/images.ts). */
const WORDS = {
  'zh-CN': {
    menu: '菜单',
    navImages: '生成图片',
    navImageJobs: '我的生成任务',
    navCharacters: '锁脸角色',
    navGallery: '图库',
    navFavorites: '收藏',
    newCharacter: '新建角色',
    name: '名称',
    description: '描述（可选）',
    save: '保存',
    uploadPhoto: (name: string) => `上传照片: ${name}`,
    photo: (name: string, n: number) => `${name}的第 ${n} 张照片`,
    promptTemplate: '提示词模板',
    paramTemplate: '参数模板',
    character: '角色（可选）',
    prompt: '提示词',
    generate: '生成',
    price: '价格：4 张共 100 积分',
    running: '生成中…已冻结 100 积分。',
    charged: '完成：扣除 100 积分（冻结 100）。',
    result: (n: number) => `结果图片 ${n}`,
    publishImage: (n: number) => `发布第 ${n} 张图片到图库`,
    publish: '发布',
    title: '标题',
    category: '分类',
    categoryName: '风景',
    inGallery: '已在图库中',
    favorite: (title: string) => `收藏: ${title}`,
    like: (title: string, n: number) => `点赞: ${title} (${n})`,
    succeeded: '成功',
    promptsTab: '提示词模板',
    notAnImage: '只能上传 PNG、JPEG、WebP 或 GIF 图片。',
    usePrompt: '使用此提示词',
    darkTheme: '深色主题',
    lightTheme: '浅色主题',
    remove: (title: string) => `移除: ${title}`,
  },
  en: {
    menu: 'Menu',
    navImages: 'Generate images',
    navImageJobs: 'My image jobs',
    navCharacters: 'Characters',
    navGallery: 'Gallery',
    navFavorites: 'Favorites',
    newCharacter: 'New character',
    name: 'Name',
    description: 'Description (optional)',
    save: 'Save',
    uploadPhoto: (name: string) => `Upload a photo: ${name}`,
    photo: (name: string, n: number) => `${name}, photo ${n}`,
    promptTemplate: 'Prompt template',
    paramTemplate: 'Settings template',
    character: 'Character (optional)',
    prompt: 'Prompt',
    generate: 'Generate',
    price: 'Price: 100 credits (images: 4)',
    running: 'Generating… 100 credits are held.',
    charged: 'Done: 100 credits charged (of 100 held).',
    result: (n: number) => `Result image ${n}`,
    publishImage: (n: number) => `Publish image ${n} to the gallery`,
    publish: 'Publish',
    title: 'Title',
    category: 'Category',
    categoryName: 'Landscape',
    inGallery: 'In the gallery',
    favorite: (title: string) => `Favorite: ${title}`,
    like: (title: string, n: number) => `Like: ${title} (${n})`,
    succeeded: 'Succeeded',
    promptsTab: 'Prompt templates',
    notAnImage: 'Only PNG, JPEG, WebP or GIF images can be uploaded.',
    usePrompt: 'Use this prompt',
    darkTheme: 'Dark theme',
    lightTheme: 'Light theme',
    remove: (title: string) => `Remove: ${title}`,
  },
};

/** Seed data every new database has: a prompt template and the "four to compare" parameter template (standard, 1024², 4 images). */
const PROMPT_TEMPLATE = { id: '00000000-0000-7000-8000-000000000105', title: '雪山日出', prompt: '' };
const PARAM_TEMPLATE = '四图对比 (1024x1024)';
/** An admin's price for a standard image: the job of 4 costs 100 credits. */
const PER_IMAGE = 25;

interface Envelope<T> {
  success: true;
  data: T;
}

/** What the server holds, read with the page's own session. */
async function read<T>(page: Page, env: ConsoleEnv, path: string): Promise<T> {
  const res = await page.request.get(env.url + path);
  expect(res.ok(), `${path}: ${await res.text()}`).toBe(true);
  return (await res.json()) as T;
}
const data = async <T>(page: Page, env: ConsoleEnv, path: string) => (await read<Envelope<T>>(page, env, path)).data;

/** Picks an option of an antd Select found by its label. */
async function pick(page: Page, label: string, option: string): Promise<void> {
  await page.getByLabel(label, { exact: true }).click();
  await page.locator('.ant-select-dropdown:visible').getByTitle(option, { exact: true }).click();
}

describe('the images pages in Chromium, against a running Tollgate with a fake job API', () => {
  let env: ConsoleEnv;
  let jobs: FakeImageJobs;

  beforeAll(async () => {
    jobs = await FakeImageJobs.start();
    env = await ConsoleEnv.start({ env: { ...jobs.env, STORAGE_DRIVER: 'local' } });
    await env.admin('PUT', '/api/admin/pricing/image-job:standard', { perImage: PER_IMAGE });
    // The template's prompt as the server has it (the form is filled with it).
    const res = await fetch(`${env.url}/v1/templates/prompts/${PROMPT_TEMPLATE.id}`);
    PROMPT_TEMPLATE.prompt = ((await res.json()) as Envelope<{ prompt: string }>).data.prompt;
  }, 240_000);
  afterAll(async () => {
    await env?.close();
    await jobs?.close();
  });

  const cases: [keyof typeof WORDS, Viewport][] = [
    ['zh-CN', DESKTOP],
    ['en', PHONE],
  ];
  for (const [lang, viewport] of cases) {
    it(`a user makes a character, generates with templates and it, follows the job, publishes, likes and favorites (${lang}, ${viewport.name})`, async () => {
      const w = WORDS[lang];
      const page = await openPage(env.browser, lang, viewport);
      const shot = (name: string) => reviewPage(page, { lang, viewport, name });
      const nav = (item: string) => go(page, viewport, w.menu, item);
      await signUpThroughApi(env, page, `images-${lang.toLowerCase()}-${viewport.name}@example.com`);

      // A character with one uploaded photo.
      const name = lang === 'en' ? 'Alice' : '小红';
      await nav(w.navCharacters);
      await page.getByRole('button', { name: w.newCharacter }).click();
      await page.getByLabel(w.name, { exact: true }).fill(name);
      await page.getByLabel(w.description, { exact: true }).fill('short hair');
      await page.getByRole('dialog').getByRole('button', { name: w.save }).click();
      await page.getByRole('heading', { name, exact: true }).waitFor();
      const chooser = page.waitForEvent('filechooser');
      await page.getByRole('button', { name: w.uploadPhoto(name) }).click();
      await (await chooser).setFiles({ name: 'face.png', mimeType: 'image/png', buffer: png(32, 32) });
      await page.getByRole('img', { name: w.photo(name, 1) }).waitFor();
      // A file that is no image is refused with a message, and nothing is sent.
      const refused = page.waitForEvent('filechooser');
      await page.getByRole('button', { name: w.uploadPhoto(name) }).click();
      await (await refused).setFiles({ name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('hello') });
      await page.getByText(w.notAnImage).waitFor();
      const characters = await data<{ items: { id: string; name: string; photoCount: number }[] }>(
        page,
        env,
        '/v1/characters',
      );
      expect(characters.items).toMatchObject([{ name, photoCount: 1 }]);
      await shot('characters');

      // Generate with a prompt template (it fills the prompt), the "four to compare" settings and the character.
      const before = await read<{ available: number }>(page, env, '/api/credits/balance');
      jobs.script({ runningPolls: 2 });
      await nav(w.navImages);
      await pick(page, w.promptTemplate, PROMPT_TEMPLATE.title);
      await expect.poll(() => page.getByLabel(w.prompt, { exact: true }).inputValue()).toBe(PROMPT_TEMPLATE.prompt);
      // The template is made a favorite from here.
      await page.getByRole('button', { name: w.favorite(PROMPT_TEMPLATE.title) }).click();
      await expect
        .poll(() => page.getByRole('button', { name: w.favorite(PROMPT_TEMPLATE.title) }).getAttribute('aria-pressed'))
        .toBe('true');
      await page.getByLabel(w.prompt, { exact: true }).press('End');
      await page.getByLabel(w.prompt, { exact: true }).pressSequentially(', golden hour');
      await pick(page, w.paramTemplate, PARAM_TEMPLATE);
      // The price the server would hold, shown before submitting: 4 images at the admin's price.
      await page.getByText(w.price).waitFor();
      await pick(page, w.character, `${name} (${lang === 'en' ? 'photos: 1' : '照片 1 张'})`);
      await page.getByRole('button', { name: w.generate, exact: true }).click();

      // The job followed: running with the credits held, then done with its four images.
      await page.getByText(w.running).waitFor();
      await page.getByText(w.charged).waitFor({ timeout: 30_000 });
      for (let n = 1; n <= 4; n++) await page.getByRole('img', { name: w.result(n) }).waitFor();
      const sent = jobs.submissions.at(-1)!;
      expect(sent.prompt).toBe(`${PROMPT_TEMPLATE.prompt}, golden hour`);
      expect(sent).toMatchObject({ mode: 'standard', resolution: '1024x1024', count: 4 });
      expect(sent.reference_images).toHaveLength(1);
      const after = await read<{ available: number }>(page, env, '/api/credits/balance');
      expect(before.available - after.available).toBe(4 * PER_IMAGE);
      const [job] = (
        await data<{ items: { status: string; creditsCharged: number; images: unknown[] }[] }>(
          page,
          env,
          '/v1/proxy/jobs',
        )
      ).items;
      expect(job).toMatchObject({ status: 'succeeded', creditsCharged: 4 * PER_IMAGE });
      expect(job!.images).toHaveLength(4);
      await page.mouse.move(0, 0); // the pointer off the button just clicked (its hover colour is a passing state)
      await shot('generate');

      // Publish the first image to the gallery, then favorite it there.
      const title = `${name} at sunrise`;
      await page.getByRole('button', { name: w.publishImage(1) }).click();
      const dialog = page.getByRole('dialog');
      await dialog.getByLabel(w.title, { exact: true }).fill(title);
      await pick(page, w.category, w.categoryName);
      await dialog.getByRole('button', { name: w.publish, exact: true }).click();
      await page.getByText(w.inGallery).waitFor();
      await page.getByRole('button', { name: w.favorite(title) }).click();
      await expect
        .poll(() => page.getByRole('button', { name: w.favorite(title) }).getAttribute('aria-pressed'))
        .toBe('true');

      // My jobs: the job, succeeded, with what it held and charged.
      await nav(w.navImageJobs);
      await page.getByRole('cell', { name: w.succeeded }).waitFor();
      expect(await page.getByRole('cell', { name: String(4 * PER_IMAGE), exact: true }).count()).toBe(2);
      await shot('jobs');

      // The gallery has it, newest first: like it (the server counts one like).
      await nav(w.navGallery);
      await page.getByRole('img', { name: title }).waitFor();
      await page.getByRole('button', { name: w.like(title, 0) }).click();
      await page.getByRole('button', { name: w.like(title, 1) }).waitFor();
      const gallery = await data<{ items: { title: string; likeCount: number }[] }>(page, env, '/v1/gallery/images');
      expect(gallery.items.find((i) => i.title === title)?.likeCount).toBe(1);
      expect(await page.getByRole('button', { name: w.favorite(title) }).getAttribute('aria-pressed')).toBe('true');
      await shot('gallery');
      // In the dark theme too, every colour comes from the theme (axe checks the contrast again). On the
      // phone, where the menu is folded away: the desktop menu's selected item is the shell's own matter.
      if (viewport.name === 'phone') {
        await page.getByRole('button', { name: w.darkTheme }).click();
        await page.getByRole('button', { name: w.lightTheme }).waitFor();
        await shot('gallery-dark');
        await page.getByRole('button', { name: w.lightTheme }).click();
      }

      // Favorites: the image is there.
      await nav(w.navFavorites);
      await page.getByRole('img', { name: title }).waitFor();
      const favorites = await data<{ items: { type: string; target: { title: string } }[] }>(
        page,
        env,
        '/v1/favorites',
      );
      expect(favorites.items).toMatchObject([{ type: 'image', target: { title } }, { type: 'prompt' }]);
      await shot('favorites');

      // The prompt template among them; removed, the server no longer has it.
      await page.getByText(w.promptsTab, { exact: true }).click();
      await page.getByText(PROMPT_TEMPLATE.title, { exact: true }).waitFor();
      await shot('favorites-prompts');
      // It opens the generate page with the template's prompt; back in the favorites, it is removed.
      await page.getByRole('link', { name: w.usePrompt }).click();
      await expect.poll(() => page.getByLabel(w.prompt, { exact: true }).inputValue()).toBe(PROMPT_TEMPLATE.prompt);
      await nav(w.navFavorites);
      await page.getByText(w.promptsTab, { exact: true }).click();
      await page.getByRole('button', { name: w.remove(PROMPT_TEMPLATE.title) }).click();
      await page.getByRole('button', { name: w.remove(PROMPT_TEMPLATE.title) }).waitFor({ state: 'detached' });
      const prompts = await data<{ items: unknown[] }>(page, env, '/v1/favorites?type=prompt');
      expect(prompts.items).toEqual([]);

      expect(page.problems).toEqual([]);
      await page.context().close();
    }, 180_000);
  }
});

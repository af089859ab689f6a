import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConsoleEnv } from './support/console-env.ts';
import { DESKTOP, openPage, PHONE, reviewPage, signUpThroughApi, type Viewport } from './support/pages.ts';

/** The words the test looks for (web/src/i18n). */
const WORDS = {
  'zh-CN': {
    dark: '深色主题',
    light: '浅色主题',
    menu: '菜单',
    pages: ['API 密钥', '调用日志', '积分', '套餐与订单', '账户'],
  },
  en: {
    dark: 'Dark theme',
    light: 'Light theme',
    menu: 'Menu',
    pages: ['API keys', 'Usage', 'Credits', 'Plans & orders', 'Account'],
  },
} as const;

/** The background colour behind the page's main content: the first opaque one up from <main>. */
const PAGE_BACKGROUND = `(() => {
  let element = document.querySelector('main') ?? document.body;
  let colour = 'rgba(0, 0, 0, 0)';
  while (element && /rgba\\(.*, 0\\)$|transparent/.test(colour)) {
    colour = getComputedStyle(element).backgroundColor;
    element = element.parentElement;
  }
  return colour;
})()`;

/** The relative luminance (0 black … 1 white) of the page's background. */
async function backgroundLuminance(page: Page): Promise<number> {
  const colour = await page.evaluate<string>(PAGE_BACKGROUND);
  const [r, g, b] = (colour.match(/[\d.]+/g) ?? ['255', '255', '255']).slice(0, 3).map(Number);
  const linear = (c: number) => ((c /= 255) <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4);
  return 0.2126 * linear(r!) + 0.7152 * linear(g!) + 0.0722 * linear(b!);
}

describe('the console in its dark theme, in Chromium', () => {
  let env: ConsoleEnv;
  beforeAll(async () => {
    env = await ConsoleEnv.start();
  }, 240_000);
  afterAll(() => env?.close());

  const cases: [keyof typeof WORDS, Viewport][] = [
    ['en', DESKTOP],
    ['zh-CN', PHONE],
  ];
  for (const [lang, viewport] of cases) {
    it(`a user switches to dark, every page in the menu reads well in it, and the choice outlives a reload (${lang}, ${viewport.name})`, async () => {
      const w = WORDS[lang];
      const page = await openPage(env.browser, lang, viewport);
      await signUpThroughApi(env, page, `theme-${lang.toLowerCase()}-${viewport.name}@example.com`, { admin: true });
      await page.getByTestId('streak').waitFor();
      expect(await backgroundLuminance(page)).toBeGreaterThan(0.8);

      await page.getByRole('button', { name: w.dark }).click();
      await page.getByRole('button', { name: w.light }).waitFor();
      expect(await backgroundLuminance(page)).toBeLessThan(0.05);
      await reviewPage(page, { lang, viewport, name: 'dark-overview' });

      // Every page in the menu, the admin area's included (this user is an admin).
      const menuItems = page.getByRole('navigation').getByRole('menuitem');
      const count = await menuItems.count();
      expect(count).toBeGreaterThan(5);
      for (let i = 1; i < count; i++) {
        if (viewport.name === 'phone') await page.getByRole('button', { name: w.menu }).click();
        const item = menuItems.nth(i);
        const name = (await item.innerText()).trim();
        await item.click();
        await page.getByRole('heading', { level: 1 }).first().waitFor();
        expect(await backgroundLuminance(page), name).toBeLessThan(0.05);
        const path = new URL(page.url()).pathname.replace(/^\/|\/$/g, '').replace(/\//g, '-');
        await reviewPage(page, { lang, viewport, name: `dark-${path}` });
      }

      await page.reload();
      await page.getByRole('button', { name: w.light }).waitFor();
      expect(await backgroundLuminance(page)).toBeLessThan(0.05);

      await page.getByRole('button', { name: w.light }).click();
      await page.getByRole('button', { name: w.dark }).waitFor();
      expect(await backgroundLuminance(page)).toBeGreaterThan(0.8);
      expect(page.problems).toEqual([]);
      await page.context().close();
    }, 180_000);
  }
});

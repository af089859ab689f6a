import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { AxeBuilder } from '@axe-core/playwright';
import type { Browser, Page } from 'playwright-core';
import { expect } from 'vitest';
import { SCREENSHOTS, type ConsoleEnv } from './console-env.ts';

export interface Viewport {
  name: 'desktop' | 'phone';
  width: number;
  height: number;
}

export const DESKTOP: Viewport = { name: 'desktop', width: 1366, height: 900 };
export const PHONE: Viewport = { name: 'phone', width: 390, height: 844 };

/**
 * A page as a reviewer and a screen reader meet it: no serious or critical axe finding (WCAG 2.1 A/AA),
 * and a full-page screenshot in test-results/console/ named by language, viewport and page.
 */
export async function reviewPage(page: Page, label: { lang: string; viewport: Viewport; name: string }): Promise<void> {
  // The context asks for reduced motion, which the console honours: nothing is mid-animation here.
  await page.waitForLoadState('networkidle');
  const result = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
  const serious = result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.slice(0, 3).map((n) => n.target.join(' ')),
    }));
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({
    path: join(SCREENSHOTS, `${label.lang}-${label.viewport.name}-${label.name}.png`),
    fullPage: true,
  });
  expect(serious, `accessibility of ${label.name} (${label.lang}, ${label.viewport.name})`).toEqual([]);
}

/** The browser locale each console language is tested with. */
export const LOCALES = { 'zh-CN': 'zh-CN', en: 'en-US' } as const;
export type ConsoleLang = keyof typeof LOCALES;

/** A page in a fresh browser context; `problems` collects page errors and refused scripts or styles (CSP). */
export async function openPage(
  browser: Browser,
  lang: ConsoleLang,
  viewport: Viewport,
): Promise<Page & { problems: string[] }> {
  const context = await browser.newContext({
    locale: LOCALES[lang],
    viewport: { width: viewport.width, height: viewport.height },
    reducedMotion: 'reduce',
  });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error' && /Content Security Policy|Refused to/.test(message.text()))
      problems.push(message.text());
  });
  page.on('pageerror', (error) => problems.push(error.message));
  return Object.assign(page, { problems });
}

/** Goes to a page through the menu (opened first on a phone, where it is folded away). */
export async function go(page: Page, viewport: Viewport, menu: string, item: string): Promise<void> {
  if (viewport.name === 'phone') await page.getByRole('button', { name: menu }).click();
  await page.getByRole('menuitem', { name: item }).click();
}

/**
 * Signs a new account up through the API with the page's own cookie jar (the console then holds its
 * session), optionally made an admin; the page is left on `path`. Returns the account's id.
 */
export async function signUpThroughApi(
  env: ConsoleEnv,
  page: Page,
  email: string,
  options: { admin?: boolean; path?: string } = {},
): Promise<string> {
  const headers = { 'x-requested-with': 'test' };
  const sent = await page.request.post(`${env.url}/api/auth/send-code`, { data: { email }, headers });
  expect(sent.ok(), await sent.text()).toBe(true);
  const registered = await page.request.post(`${env.url}/api/auth/register`, {
    data: { email, password: 'Sup3rSecret', code: env.lastCode(email) },
    headers,
  });
  expect(registered.ok(), await registered.text()).toBe(true);
  const { user } = (await registered.json()) as { user: { id: string } };
  // The role is read on every request, so the session made above is an admin's from here on.
  if (options.admin) await env.admin('PUT', `/api/admin/users/${user.id}/role`, { role: 'admin' });
  await page.goto(`${env.url}${options.path ?? '/dashboard'}`);
  return user.id;
}

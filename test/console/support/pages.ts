import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { AxeBuilder } from '@axe-core/playwright';
import type { Page } from 'playwright-core';
import { expect } from 'vitest';
import { SCREENSHOTS } from './console-env.ts';

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

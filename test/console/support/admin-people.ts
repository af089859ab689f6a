import type { Page } from 'playwright-core';
import { expect } from 'vitest';
import type { ConsoleEnv } from './console-env.ts';
import type { Viewport } from './pages.ts';

const HEADERS = { 'x-requested-with': 'test' };

/** Signs `email` in again with the page's own cookie jar (after its sessions were ended). */
export async function signInThroughApi(env: ConsoleEnv, page: Page, email: string): Promise<void> {
  const res = await page.request.post(`${env.url}/api/auth/login`, {
    data: { email, password: 'Sup3rSecret' },
    headers: HEADERS,
  });
  expect(res.ok(), await res.text()).toBe(true);
}

/** The signed-in user of `page` makes a key and `count` chat calls with it; returns the key's secret. */
export async function callsThroughKey(env: ConsoleEnv, page: Page, model: string, count: number): Promise<void> {
  const created = await page.request.post(`${env.url}/api/keys`, { data: { name: 'admin test' }, headers: HEADERS });
  expect(created.ok(), await created.text()).toBe(true);
  const { key } = (await created.json()) as { key: string };
  for (let i = 0; i < count; i++) {
    const res = await fetch(`${env.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model, messages: [{ role: 'user', content: 'Hello' }] }),
    });
    expect(res.status, await res.text()).toBe(200);
  }
}

export interface PaidOrder {
  id: string;
  orderNo: string;
  amount: number;
}

/** The signed-in user of `page` buys `fen` worth of credits and the fake WeChat Pay's payer pays it. */
export async function paidCreditsOrder(env: ConsoleEnv, page: Page, fen: number): Promise<PaidOrder> {
  const res = await page.request.post(`${env.url}/api/orders`, {
    data: { kind: 'credits', amount: fen, channel: 'wechat_native' },
    headers: HEADERS,
  });
  expect(res.ok(), await res.text()).toBe(true);
  const { order } = (await res.json()) as { order: PaidOrder };
  await env.wechatPay.pay(order.orderNo);
  await expect
    .poll(async () => (await env.admin<{ status: string }>('GET', `/api/admin/orders/${order.id}`)).status, {
      timeout: 15_000,
    })
    .toBe('fulfilled');
  return order;
}

/**
 * Goes to an admin page through the menu, its item's whole label after its icon's name (`Orders` is
 * also part of a user's `Plans & orders`).
 */
export async function goExactly(page: Page, viewport: Viewport, menu: string, item: string): Promise<void> {
  if (viewport.name === 'phone') await page.getByRole('button', { name: menu }).click();
  const label = new RegExp(`(^|\\s)${item.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`);
  await page.getByRole('menuitem', { name: label }).click();
}

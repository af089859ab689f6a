import OpenAI from 'openai';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConsoleEnv } from './support/console-env.ts';
import { DESKTOP, go as goThroughMenu, openPage, PHONE, reviewPage, type Viewport } from './support/pages.ts';

/** The words the test looks for, as the console shows them (web/src/i18n). */
const WORDS = {
  'zh-CN': {
    locale: 'zh-CN',
    signIn: '登录',
    signUp: '注册',
    noAccount: '还没有账户？去注册',
    email: '邮箱',
    password: '密码',
    code: '邮箱验证码',
    sendCode: '发送验证码',
    resendIn: /秒后可重发/,
    checkinNow: '签到',
    checkedInToday: '今日已签到',
    streak1: '已连续签到 1 天',
    menu: '菜单',
    navOverview: '概览',
    navKeys: 'API 密钥',
    navUsage: '调用日志',
    navCredits: '积分',
    navPlans: '套餐与订单',
    navAccount: '账户',
    newKey: '新建密钥',
    name: '名称',
    save: '保存',
    close: '关闭',
    redeemCode: '兑换码',
    redeemNow: '兑换',
    buyWechat: '购买 · 微信支付',
    paid: '支付成功，套餐已生效！',
    thisSession: '当前会话',
    signOut: '退出登录',
    lockedFor: '账户已锁定',
    captcha: '图形验证码',
    sessionEnded: '登录已失效，请重新登录。',
  },
  en: {
    locale: 'en-US',
    signIn: 'Sign in',
    signUp: 'Create account',
    noAccount: 'No account yet? Create one',
    email: 'Email',
    password: 'Password',
    code: 'Email code',
    sendCode: 'Send code',
    resendIn: /Resend in/,
    checkinNow: 'Check in',
    checkedInToday: 'Checked in today',
    streak1: '1-day streak',
    menu: 'Menu',
    navOverview: 'Dashboard',
    navKeys: 'API keys',
    navUsage: 'Usage',
    navCredits: 'Credits',
    navPlans: 'Plans & orders',
    navAccount: 'Account',
    newKey: 'New key',
    name: 'Name',
    save: 'Save',
    close: 'Close',
    redeemCode: 'Redeem code',
    redeemNow: 'Redeem',
    buyWechat: 'Buy · WeChat Pay',
    paid: 'Paid: thank you! Your plan is active.',
    thisSession: 'This session',
    signOut: 'Sign out',
    lockedFor: 'This account is locked for',
    captcha: 'Captcha',
    sessionEnded: 'Your session has ended. Please sign in again.',
  },
} as const;
type Lang = keyof typeof WORDS;
type Words = (typeof WORDS)[Lang];

const MODEL = 'gpt-4o-mini';
let counter = 0;

describe('the web console in Chromium, against a running Tollgate', () => {
  let env: ConsoleEnv;
  let planCode: string;

  beforeAll(async () => {
    env = await ConsoleEnv.start();
    await env.admin('PUT', `/api/admin/pricing/${MODEL}`, { input: 10, output: 20, perRequest: 1 });
    planCode = 'pro';
    await env.admin('POST', '/api/admin/plans', {
      code: planCode,
      name: 'Pro',
      level: 1,
      price: 990,
      durationDays: 30,
      benefits: ['100 calls a day'],
      entitlements: { allowances: [{ metric: 'requests', period: 'day', limit: 100 }] },
    });
  }, 240_000);
  afterAll(() => env?.close());

  /** Goes to a page through the menu. */
  const go = (page: Page, w: Words, viewport: Viewport, item: string) => goThroughMenu(page, viewport, w.menu, item);

  for (const lang of ['zh-CN', 'en'] as const) {
    for (const viewport of [DESKTOP, PHONE]) {
      it(`a new user signs up, checks in, calls /v1 with a key, sees it, redeems a code and buys a plan (${lang}, ${viewport.name})`, async () => {
        const w = WORDS[lang];
        const shot = (name: string) => reviewPage(page, { lang, viewport, name });
        const page = await openPage(env.browser, lang, viewport);
        const email = `console-${lang.toLowerCase()}-${viewport.name}-${++counter}@example.com`;

        // A browser asking for / gets the console, which sends a visitor without a session to sign in.
        await page.goto(env.url + '/');
        await page.waitForURL(/\/dashboard\/login/);
        await expect.poll(() => page.locator('html').getAttribute('lang')).toBe(lang);
        await shot('sign-in');

        await page.getByRole('link', { name: w.noAccount }).click();
        await page.getByRole('heading', { name: w.signUp }).waitFor();
        await page.getByLabel(w.email, { exact: true }).fill(email);
        await page.getByRole('button', { name: w.sendCode }).click();
        // The button counts down once the server has sent the code (an error would show as a message instead).
        await page.getByRole('button', { name: w.resendIn }).waitFor();
        await expect
          .poll(
            () => {
              try {
                return env.lastCode(email);
              } catch {
                return '';
              }
            },
            { timeout: 15_000 },
          )
          .toMatch(/^\d{6}$/);
        await page.getByLabel(w.code, { exact: true }).fill(env.lastCode(email));
        await page.getByLabel(w.password, { exact: true }).fill('Sup3rSecret');
        await shot('sign-up');
        await page.getByRole('button', { name: w.signUp }).click();
        await page.waitForURL((url) => url.pathname === '/dashboard');

        // Check in: the button turns into "checked in", the streak is 1 and today is marked on the calendar.
        await page.getByRole('button', { name: w.checkinNow, exact: true }).click();
        await page.getByRole('button', { name: w.checkedInToday }).waitFor();
        await expect.poll(() => page.getByTestId('streak').innerText(), { timeout: 10_000 }).toBe(w.streak1);
        expect(await page.locator('td[data-checked][aria-current="date"]').count()).toBe(1);
        await shot('dashboard');

        // A key, its secret shown once, used with the official SDK.
        await go(page, w, viewport, w.navKeys);
        await page.getByRole('button', { name: w.newKey }).click();
        await page.getByLabel(w.name, { exact: true }).fill('my laptop');
        await page.getByRole('button', { name: w.save }).click();
        const secretText = await page.getByTestId('new-key-secret').innerText();
        const secret = /sk-\S+/.exec(secretText)?.[0];
        expect(secret).toBeDefined();
        await shot('key-secret');
        await page.locator('.ant-modal-footer').getByRole('button', { name: w.close }).click();
        await page.getByRole('cell', { name: 'my laptop', exact: true }).waitFor();
        await shot('keys');

        const openai = new OpenAI({ baseURL: `${env.url}/v1`, apiKey: secret! });
        const completion = await openai.chat.completions.create({
          model: MODEL,
          messages: [{ role: 'user', content: 'Hello' }],
        });
        expect(completion.choices[0]?.message.content).toBeTruthy();

        // The call in the usage log, and in the dashboard's chart.
        await go(page, w, viewport, w.navUsage);
        await page.getByRole('cell', { name: MODEL }).first().waitFor();
        expect(await page.getByRole('cell', { name: 'my laptop', exact: true }).count()).toBe(1);
        await shot('usage');
        await go(page, w, viewport, w.navOverview);
        await page.getByTestId('usage-chart').locator('.recharts-bar-rectangle').first().waitFor();
        await shot('dashboard-usage');

        // A code an admin made, redeemed: the ledger shows it.
        const batch = await env.admin<{ codes: { code: string }[] }>('POST', '/api/admin/redeem-codes', {
          count: 1,
          credits: 500,
        });
        await go(page, w, viewport, w.navCredits);
        await page.getByLabel(w.redeemCode, { exact: true }).fill(batch.codes[0]!.code);
        await page.getByRole('button', { name: w.redeemNow, exact: true }).click();
        await page.getByRole('cell', { name: '+500' }).waitFor();
        await shot('credits');

        // A plan through WeChat Pay: the QR code, the fake payer pays, the page follows the order to paid.
        await go(page, w, viewport, w.navPlans);
        await page.getByTestId(`plan-${planCode}`).getByRole('button', { name: w.buyWechat }).click();
        const follower = page.locator('[data-order-no]');
        await follower.waitFor();
        await page.locator('.ant-qrcode svg').waitFor();
        await shot('plans-paying');
        await env.wechatPay.pay((await follower.getAttribute('data-order-no'))!);
        await page.getByText(w.paid).waitFor();
        await page.keyboard.press('Escape');
        await shot('plans');
        await go(page, w, viewport, w.navOverview);
        await page.getByTestId('allowance').first().waitFor();
        expect(await page.getByTestId('plan-card').innerText()).toContain('Pro');

        // The sessions list marks this one; signing out ends it.
        await go(page, w, viewport, w.navAccount);
        await page.getByText(w.thisSession, { exact: true }).waitFor();
        await shot('account');
        await page.getByRole('button', { name: w.signOut }).click();
        await page.waitForURL(/\/dashboard\/login/);
        await page.goto(env.url + '/dashboard/keys');
        await page.waitForURL(/\/dashboard\/login\?next=/);

        expect(page.problems).toEqual([]);
        await page.context().close();
      }, 180_000);
    }
  }

  // Last: failures from the browser's one IP ask every later sign-in for a captcha.
  it('sign-in failures bring the captcha and the lock, with its remaining time', async () => {
    const w = WORDS.en;
    const page = await openPage(env.browser, 'en', DESKTOP);
    await page.goto(env.url + '/dashboard/login');
    const email = 'console-lock@example.com';
    await page.getByLabel(w.email, { exact: true }).fill(email);
    for (let attempt = 0; attempt < 3; attempt++) {
      await page.getByLabel(w.password, { exact: true }).fill(`Wrong${attempt}pass`);
      if (attempt > 0 && (await page.getByLabel(w.captcha, { exact: true }).count()) > 0)
        await page.getByLabel(w.captcha, { exact: true }).fill('xxxx');
      await page.getByRole('button', { name: w.signIn, exact: true }).click();
      await page.getByRole('alert').first().waitFor();
    }
    await page.getByText(w.lockedFor).waitFor();
    expect(await page.getByRole('alert').first().innerText()).toMatch(/\b1[45]:\d\d\b/);
    expect(await page.getByRole('button', { name: w.signIn, exact: true }).isDisabled()).toBe(true);
    await reviewPage(page, { lang: 'en', viewport: DESKTOP, name: 'sign-in-locked' });
    await page.context().close();
  }, 120_000);
});

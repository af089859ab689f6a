import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callsThroughKey, goExactly, paidCreditsOrder, signInThroughApi } from './support/admin-people.ts';
import { ConsoleEnv } from './support/console-env.ts';
import { DESKTOP, openPage, PHONE, reviewPage, signUpThroughApi, type Viewport } from './support/pages.ts';

/** The words the test looks for, as the console shows them (web/src/i18n: en/zh and areas/adminPeople). */
const WORDS = {
  'zh-CN': {
    menu: '菜单',
    navOverview: '概览',
    navKeys: 'API 密钥',
    overview: '运营总览',
    users: '用户',
    orders: '订单',
    audit: '审计日志',
    calls: '调用次数',
    table: '表格',
    charts: '图表',
    dailyFigures: '每日数据',
    search: '搜索',
    filter: '筛选',
    confirm: '确定',
    adjustCredits: '调整积分',
    credits: '积分',
    reason: '说明',
    adjusted: '积分已调整，当前余额',
    setPlan: '设置套餐',
    plan: '套餐',
    planSet: '套餐已设置：Pro',
    endSessions: '结束全部会话',
    sessionsEnded: /已结束 \d+ 个会话/,
    disable: '停用',
    disabledDone: '账户已停用，其会话已结束。',
    refund: '退款',
    refundPart: '部分',
    refundAmount: '金额（CNY）',
    partlyRefunded: '部分退款',
    refundDone: '已退款，订单状态',
    targetId: '对象 ID',
    expand: '展开行',
    changeOf: (action: string) => `${action} 的变更`,
    adminOnly: '此页面仅限管理员访问。',
    themeDark: '深色主题',
    themeLight: '浅色主题',
    sessionEnded: '登录已失效，请重新登录。',
  },
  en: {
    menu: 'Menu',
    navOverview: 'Dashboard',
    navKeys: 'API keys',
    overview: 'Admin overview',
    users: 'Users',
    orders: 'Orders',
    audit: 'Audit log',
    calls: 'Calls',
    table: 'Table',
    charts: 'Charts',
    dailyFigures: 'Figures per day',
    search: 'Search',
    filter: 'Filter',
    confirm: 'Confirm',
    adjustCredits: 'Adjust credits',
    credits: 'Credits',
    reason: 'Reason',
    adjusted: 'Credits adjusted. The balance is now',
    setPlan: 'Set plan',
    plan: 'Plan',
    planSet: 'Plan set: Pro',
    endSessions: 'End all sessions',
    sessionsEnded: /\d+ sessions ended/,
    disable: 'Disable',
    disabledDone: 'The account is disabled and its sessions have ended.',
    refund: 'Refund',
    refundPart: 'A part',
    refundAmount: 'Amount (CNY)',
    partlyRefunded: 'Partly refunded',
    refundDone: 'Refund made. The order is now',
    targetId: 'Target id',
    expand: 'Expand row',
    changeOf: (action: string) => `What ${action} changed`,
    adminOnly: 'This page is for administrators.',
    themeDark: 'Dark theme',
    themeLight: 'Light theme',
    sessionEnded: 'Your session has ended. Please sign in again.',
  },
} as const;

const MODEL = 'gpt-4o-mini';
const CREDITS_ACTION = 'POST /api/admin/users/:id/credits';

interface Overview {
  daily: { date: string; calls: number; creditsSpent: number; creditsGranted: number }[];
}

describe('the admin console: overview, users, orders, audit log', () => {
  let env: ConsoleEnv;
  /** Calls every test user has made so far: today's figure on the overview. */
  let callsMade = 0;

  beforeAll(async () => {
    env = await ConsoleEnv.start();
    await env.admin('PUT', `/api/admin/pricing/${MODEL}`, { input: 10, output: 20, perRequest: 1 });
    await env.admin('POST', '/api/admin/plans', {
      code: 'pro',
      name: 'Pro',
      level: 1,
      price: 990,
      durationDays: 30,
      entitlements: { allowances: [{ metric: 'requests', period: 'day', limit: 100 }] },
    });
  }, 240_000);
  afterAll(() => env?.close());

  const runs: [keyof typeof WORDS, Viewport][] = [
    ['zh-CN', DESKTOP],
    ['en', PHONE],
  ];
  for (const [lang, viewport] of runs) {
    it(`an admin sees the day's calls, manages a user (credits, plan, sessions, disable), refunds an order and finds it all in the audit log (${lang}, ${viewport.name})`, async () => {
      const w = WORDS[lang];
      const tag = `${lang.toLowerCase()}-${viewport.name}`;
      const admin = await openPage(env.browser, lang, viewport);
      const user = await openPage(env.browser, lang, viewport);
      const shot = (name: string) => reviewPage(admin, { lang, viewport, name });
      const menu = (item: string) => goExactly(admin, viewport, w.menu, item);

      // A user who calls the API and buys credits; the admin area is not theirs.
      const userEmail = `people-user-${tag}@example.com`;
      const userId = await signUpThroughApi(env, user, userEmail, { path: '/admin' });
      await user.getByText(w.adminOnly).waitFor();
      await callsThroughKey(env, user, MODEL, 2);
      callsMade += 2;
      const order = await paidCreditsOrder(env, user, 1000);
      await signUpThroughApi(env, admin, `people-admin-${tag}@example.com`, { admin: true, path: '/admin' });

      // The overview: today's calls and the credits they cost, as the API counts them, in the figures,
      // the chart and the table.
      const overview = await env.admin<Overview>('GET', '/api/admin/overview?days=7');
      const today = overview.daily.at(-1)!;
      expect(today.calls).toBe(callsMade);
      await admin.getByRole('heading', { name: w.overview }).waitFor();
      const callsFigure = admin.getByRole('group', { name: w.calls, exact: true });
      await expect.poll(() => callsFigure.innerText()).toContain(String(callsMade));
      await admin.getByTestId('chart-calls').locator('.recharts-bar-rectangle').first().waitFor();
      await shot('admin-overview');
      await admin.getByText(w.table, { exact: true }).click();
      const todayRow = admin.getByRole('region', { name: w.dailyFigures }).getByRole('row').nth(1);
      await expect.poll(() => todayRow.getByRole('cell').nth(0).innerText()).toBe(today.date);
      expect(await todayRow.getByRole('cell').nth(2).innerText()).toBe(String(callsMade));
      expect(await todayRow.getByRole('cell').nth(6).innerText()).toBe(today.creditsSpent.toLocaleString('en-US'));
      await shot('admin-overview-table');
      // The charts in the dark theme: every colour from the theme's tokens, still readable.
      await admin.getByText(w.charts, { exact: true }).click();
      await admin.getByRole('button', { name: w.themeDark }).click();
      await admin.getByTestId('chart-calls').locator('.recharts-bar-rectangle').first().waitFor();
      await shot('admin-overview-dark');
      await admin.getByRole('button', { name: w.themeLight }).click();

      // Find the user, adjust the credits: the page tells the new balance, the API holds exactly it.
      await menu(w.users);
      await admin.getByLabel(w.search).fill(userEmail);
      await admin.getByRole('button', { name: w.filter }).click();
      await shot('admin-users');
      await admin.getByRole('link', { name: userEmail }).click();
      await admin.getByRole('heading', { name: userEmail }).waitFor();
      const before = (await env.admin<{ credits: { balance: number } }>('GET', `/api/admin/users/${userId}`)).credits
        .balance;
      await admin.getByRole('button', { name: w.adjustCredits }).click();
      const dialog = admin.getByRole('dialog');
      await dialog.getByLabel(w.credits, { exact: true }).fill('250');
      await dialog.getByLabel(w.reason).fill('goodwill');
      await dialog.getByRole('button', { name: w.confirm }).click();
      const outcome = admin.getByTestId('action-outcome');
      await outcome.getByText(w.adjusted).waitFor();
      const after = (await env.admin<{ credits: { balance: number } }>('GET', `/api/admin/users/${userId}`)).credits
        .balance;
      expect(after).toBe(before + 250);
      expect(await outcome.innerText()).toContain(after.toLocaleString('en-US'));
      await shot('admin-user');

      // A plan: chosen in the dialog, then the user's plan in the API.
      await admin.getByRole('button', { name: w.setPlan }).click();
      await admin.getByRole('dialog').getByLabel(w.plan, { exact: true }).click();
      await admin.keyboard.press('Enter');
      await admin.getByRole('dialog').getByRole('button', { name: w.confirm }).click();
      await outcome.getByText(w.planSet).waitFor();
      const plan = await env.admin<{ plan: { code: string } | null }>('GET', `/api/admin/users/${userId}/plan`);
      expect(plan.plan?.code).toBe('pro');

      // Ending the sessions signs the user out at their next click.
      await admin.getByRole('button', { name: w.endSessions }).click();
      await admin.getByRole('button', { name: w.confirm }).click();
      await outcome.getByText(w.sessionsEnded).waitFor();
      await user.goto(`${env.url}/dashboard`);
      await user.waitForURL(/\/dashboard\/login/);

      // Signed in again, then disabled in the admin page: the user's next click ends with "session ended".
      await signInThroughApi(env, user, userEmail);
      await user.goto(`${env.url}/dashboard`);
      await user.getByTestId('streak').waitFor();
      await admin.getByRole('button', { name: w.disable, exact: true }).click();
      await admin.getByRole('button', { name: w.confirm }).click();
      await outcome.getByText(w.disabledDone).waitFor();
      if (viewport.name === 'phone') await user.getByRole('button', { name: w.menu }).click();
      await user.getByRole('menuitem', { name: w.navKeys }).click();
      await user.waitForURL(/\/dashboard\/login\?ended=1/);
      await user.getByText(w.sessionEnded).waitFor();
      const disabled = await env.admin<{ status: string }>('GET', `/api/admin/users/${userId}`);
      expect(disabled.status).toBe('disabled');

      // Refund 3.00 of the paid order; the fake WeChat Pay confirms it and the order shows partly refunded.
      await menu(w.orders);
      await admin.getByLabel(w.search).fill(order.orderNo);
      await admin.getByRole('button', { name: w.filter }).click();
      await shot('admin-orders');
      await admin.getByRole('link', { name: order.orderNo }).click();
      await admin.getByRole('button', { name: w.refund }).click();
      const refundDialog = admin.getByRole('dialog');
      await refundDialog.getByLabel(w.refundPart).check();
      await refundDialog.getByLabel(w.refundAmount).fill('3');
      await refundDialog.getByLabel(w.reason).fill('partly unused');
      await refundDialog.getByRole('button', { name: w.refund }).click();
      await admin.getByText(w.refundDone).waitFor();
      const detail = await env.admin<{ refunds: { refundNo: string; amount: number }[] }>(
        'GET',
        `/api/admin/orders/${order.id}`,
      );
      expect(detail.refunds.map((r) => r.amount)).toEqual([300]);
      await env.wechatPay.settleRefund(detail.refunds[0]!.refundNo);
      await expect
        .poll(async () => (await env.admin<{ status: string }>('GET', `/api/admin/orders/${order.id}`)).status)
        .toBe('partially_refunded');
      await admin.reload();
      await admin.getByTestId('order-status').getByText(w.partlyRefunded).waitFor();
      await shot('admin-order');

      // The audit log has each of those, the credit adjustment's balance before and after readable.
      await menu(w.audit);
      await admin.getByLabel(w.targetId).fill(userId);
      await admin.getByRole('button', { name: w.filter }).click();
      for (const action of [
        CREDITS_ACTION,
        'PUT /api/admin/users/:id/plan',
        'DELETE /api/admin/users/:id/sessions',
        'POST /api/admin/users/:id/disable',
      ])
        // Once the filter applies, this user's one entry of each (the other run's are filtered out).
        await expect.poll(() => admin.getByText(action, { exact: true }).count()).toBe(1);
      // A row to expand on a desktop; on a phone a card shows its change.
      if (viewport.name === 'desktop')
        await admin
          .getByRole('row')
          .filter({ hasText: CREDITS_ACTION })
          .getByRole('button', { name: w.expand })
          .click();
      const change = admin.getByRole('table', { name: w.changeOf(CREDITS_ACTION) });
      const balanceRow = change.getByRole('row').filter({ hasText: 'balance' });
      expect(await balanceRow.getByRole('cell').allInnerTexts()).toEqual([String(before), String(after)]);
      await shot('admin-audit');
      await admin.getByLabel(w.targetId).fill(order.id);
      await admin.getByRole('button', { name: w.filter }).click();
      await admin.getByText('order.refund', { exact: true }).waitFor();

      expect(admin.problems).toEqual([]);
      await admin.context().close();
      await user.context().close();
    }, 180_000);
  }
});

import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addDifyChatApp, DIFY_CHAT_APP, FakeDify } from './support/chat.ts';
import { ConsoleEnv } from './support/console-env.ts';
import { DESKTOP, go, openPage, PHONE, reviewPage, signUpThroughApi, type Viewport } from './support/pages.ts';

const MODEL = 'gpt-4o-mini';

/** The words the test looks for, as the console shows them (web/src/i18n). */
const WORDS = {
  'zh-CN': {
    menu: '菜单',
    navPlayground: '模型试玩',
    navChat: '对话',
    navUsage: '调用日志',
    model: '模型',
    message: '消息',
    stop: '停止',
    available: /可用积分：([\d,]+)/,
    cost: /费用：(\d+) 积分/,
    tokens: /Token：提示 (\d+) \/ 生成 (\d+)/,
    notConfigured: '尚未配置 Dify 应用。管理员可以在渠道管理中添加。',
    starter: 'What can you do?',
    like: '赞',
    feedbackSaved: '感谢你的反馈',
    rename: '重命名',
    name: '名称',
    save: '保存',
    delete: '删除',
    noConversations: '还没有会话。',
  },
  en: {
    menu: 'Menu',
    navPlayground: 'Playground',
    navChat: 'Chat',
    navUsage: 'Usage',
    model: 'Model',
    message: 'Message',
    stop: 'Stop',
    available: /Available: ([\d,]+) credits/,
    cost: /Cost: (\d+) credits/,
    tokens: /Tokens: (\d+) prompt \/ (\d+) completion/,
    notConfigured: 'No Dify app is configured yet. An administrator can add one under channels.',
    starter: 'What can you do?',
    like: 'Like',
    feedbackSaved: 'Thanks for the feedback',
    rename: 'Rename',
    name: 'Name',
    save: 'Save',
    delete: 'Delete',
    noConversations: 'No conversations yet.',
  },
} as const;
type Words = (typeof WORDS)[keyof typeof WORDS];

const numberIn = async (page: Page, pattern: RegExp, group = 1): Promise<number> => {
  const text = await page.getByText(pattern).first().innerText();
  return Number(pattern.exec(text)![group]!.replace(/,/g, ''));
};

interface Logs {
  items: Array<{ requestId: string; keyId: string | null; endpoint: string; credits: number; model: string }>;
}

describe('the playground and the Dify chat in Chromium', () => {
  let env: ConsoleEnv;
  let dify: FakeDify;
  let counter = 0;

  beforeAll(async () => {
    dify = await FakeDify.start();
    env = await ConsoleEnv.start();
    await env.admin('PUT', `/api/admin/pricing/${MODEL}`, { input: 10, output: 20, perRequest: 1 });
  }, 240_000);
  afterAll(async () => {
    await env?.close();
    await dify?.close();
  });

  it('the chat page says so when no Dify app is configured', async () => {
    const page = await openPage(env.browser, 'en', DESKTOP);
    await signUpThroughApi(env, page, `chat-none-${++counter}@example.com`, { path: '/dashboard/chat' });
    await page.getByText(WORDS.en.notConfigured).waitFor();
    await reviewPage(page, { lang: 'en', viewport: DESKTOP, name: 'chat-not-configured' });
    await addDifyChatApp(env, dify);
    await page.context().close();
  }, 60_000);

  const runs: Array<['zh-CN' | 'en', Viewport]> = [
    ['zh-CN', DESKTOP],
    ['en', PHONE],
  ];
  for (const [lang, viewport] of runs) {
    it(`chats in the playground, paying exactly the cost shown, then with the Dify app (${lang}, ${viewport.name})`, async () => {
      const w: Words = WORDS[lang];
      const page = await openPage(env.browser, lang, viewport);
      const shot = (name: string) => reviewPage(page, { lang, viewport, name });
      await signUpThroughApi(env, page, `chat-${lang.toLowerCase()}-${viewport.name}-${++counter}@example.com`);

      // The playground: pick the model, ask; the answer streams (a slow upstream: Stop is offered meanwhile).
      await go(page, viewport, w.menu, w.navPlayground);
      await page.getByRole('heading', { name: w.navPlayground }).waitFor();
      const before = await numberIn(page, w.available);
      await page.getByLabel(w.model, { exact: true }).fill(MODEL);
      await page.getByRole('option', { name: MODEL, exact: true }).waitFor({ state: 'attached' });
      await page.keyboard.press('Enter');
      await page
        .getByText(/10 \/ 20/)
        .first()
        .waitFor(); // the chosen model's price
      env.openai.always('chunk-delay=80');
      await page.getByRole('textbox', { name: w.message }).fill('Hello there, how are you today?');
      await page.keyboard.press('Enter');
      const stop = page.getByRole('button', { name: w.stop });
      await stop.waitFor();
      await page
        .getByRole('log')
        .getByText(/^Echo:/)
        .waitFor();
      expect(await stop.isVisible(), 'still streaming when the first words show').toBe(true);
      await page.getByText(w.cost).waitFor({ timeout: 20_000 });
      env.openai.always();
      expect(
        await page
          .getByRole('log')
          .getByText(/^Echo:/)
          .innerText(),
      ).toBe('Echo: Hello there, how are you today?');
      const cost = await numberIn(page, w.cost);
      const [prompt, completion] = [await numberIn(page, w.tokens, 1), await numberIn(page, w.tokens, 2)];
      expect(cost).toBeGreaterThan(0);
      expect(completion).toBeGreaterThan(0);
      // The balance shown, and the server's, dropped by exactly the cost shown.
      await expect.poll(() => numberIn(page, w.available)).toBe(before - cost);
      const balance = await (await page.request.get(`${env.url}/api/credits/balance`)).json();
      expect(balance).toMatchObject({ available: before - cost, held: 0 });
      const logs = (await (await page.request.get(`${env.url}/api/usage/logs`)).json()) as Logs;
      expect(logs.items).toHaveLength(1);
      expect(logs.items[0]).toMatchObject({ keyId: null, endpoint: 'playground.chat.completions', credits: cost });
      expect(logs.items[0]).toMatchObject({ model: MODEL });
      await shot('playground');
      expect(prompt).toBeGreaterThan(0);
      if (viewport === PHONE) {
        // The rest of this run in the dark theme (the other run stays light).
        await page.getByRole('button', { name: 'Dark theme' }).click();
        await shot('playground-dark');
      }

      // The call in the usage log page.
      await go(page, viewport, w.menu, w.navUsage);
      await page.getByRole('cell', { name: MODEL }).first().waitFor();
      expect(await page.getByRole('cell', { name: MODEL }).count()).toBe(1);

      // The Dify chat: the app's opening statement and starter; a streamed answer; a suggested question.
      await go(page, viewport, w.menu, w.navChat);
      await page.getByText(`Hello, I am ${DIFY_CHAT_APP.name}.`).waitFor();
      await shot('chat-empty');
      await page.getByRole('button', { name: w.starter }).click();
      const log = page.getByRole('log');
      await log.getByText('Echo: What can you do?').waitFor();
      const suggestion = page.getByRole('button', { name: 'Can you give an example?' });
      await suggestion.click();
      await log.getByText('Echo: Can you give an example?').waitFor();
      await page.getByRole('button', { name: 'What should I ask next?' }).waitFor();

      // Feedback on the first answer, kept by the server.
      await page.getByRole('button', { name: w.like, exact: true }).first().click();
      await page.getByText(w.feedbackSaved).waitFor();
      const conversations = (await (await page.request.get(`${env.url}/api/dify/conversations`)).json()) as {
        data: Array<{ id: string; name: string }>;
      };
      expect(conversations.data).toHaveLength(1);
      const conversation = conversations.data[0]!;
      const messages = (await (
        await page.request.get(`${env.url}/api/dify/conversations/${conversation.id}/messages`)
      ).json()) as { data: Array<{ role: string; feedback?: { rating: string } | null }> };
      expect(messages.data.filter((m) => m.role === 'assistant').map((m) => m.feedback?.rating ?? null)).toEqual([
        'like',
        null,
      ]);
      await shot('chat');

      // Rename, then delete the conversation.
      await page.getByRole('button', { name: `${w.rename} ${conversation.name}` }).click();
      await page.getByLabel(w.name, { exact: true }).fill('Questions for the bot');
      await page.getByRole('button', { name: w.save }).click();
      await page.getByRole('button', { name: 'Questions for the bot', exact: true }).waitFor();
      await page.getByRole('button', { name: `${w.delete} Questions for the bot` }).click();
      await page.locator('.ant-popconfirm').getByRole('button', { name: w.delete }).click();
      await page.getByText(w.noConversations).waitFor();
      const left = (await (await page.request.get(`${env.url}/api/dify/conversations`)).json()) as { data: unknown[] };
      expect(left.data).toEqual([]);

      expect(page.problems).toEqual([]);
      await page.context().close();
    }, 180_000);
  }
});

import { FakeDify } from '#test/fakes/dify.ts';
import type { ConsoleEnv } from './console-env.ts';

/** The fake Dify's chat app as the admin adds it: a channel of kind `dify` (docs/dify.md). */
export const DIFY_CHAT_APP = { key: 'app-fake-chat', name: 'Fake Chat' } as const;

/** Adds the fake's chat app through the admin API, priced per 1K tokens and per call. */
export async function addDifyChatApp(env: ConsoleEnv, fake: FakeDify): Promise<void> {
  await env.admin('POST', '/api/admin/channels', {
    name: 'Support bot',
    kind: 'dify',
    baseUrl: fake.url,
    apiKey: DIFY_CHAT_APP.key,
    appMode: 'chat',
    prices: { input: 10, output: 20, endpoints: { 'chat-messages': 1 } },
  });
}

export { FakeDify };

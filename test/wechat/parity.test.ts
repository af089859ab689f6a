import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeDify } from '#test/fakes/dify.ts';
import { FakeWeChat } from '#test/fakes/wechat.ts';
import {
  balanceOf,
  chatBody,
  createKey,
  expectBooksBalanced,
  startGateway,
  usageRows,
  v1,
  type Gateway,
} from '#test/helpers/gateway.ts';
import { backends, call, freshIp, type RegisteredUser } from '#test/helpers/test-app.ts';
import { APP_KEYS, addDifyApp, difyCharge } from '#test/dify/helpers.ts';
import { wechatEnv } from './helpers.ts';

describe.each(backends())('a WeChat-only account does what an email account does ($label)', (backend) => {
  let g: Gateway;
  let wechat: FakeWeChat;
  let difyFake: FakeDify;
  beforeAll(async () => {
    wechat = await FakeWeChat.start();
    difyFake = await FakeDify.start();
    g = await startGateway(backend, { env: wechatEnv(wechat) });
    await addDifyApp(g.t, g.admin, difyFake, APP_KEYS.chat, 'chat');
  });
  afterAll(async () => {
    await g.close();
    await difyFake.close();
    await wechat.close();
  });

  it('has credits, checks in, makes keys, pays for an OpenAI call and a Dify chat, with the books balanced', async () => {
    const res = await call(g.t.app, 'POST', '/v1/auth/wechat-login', { body: { code: wechat.login() }, ip: freshIp() });
    expect(res.statusCode, res.body).toBe(200);
    const { accessToken, user } = res.json<{ data: { accessToken: string; user: { id: string } } }>().data;
    const as = { token: accessToken };

    const balance = await call(g.t.app, 'GET', '/api/credits/balance', as);
    expect(balance.json()).toMatchObject({ credits: 1000 });
    const checkin = await call(g.t.app, 'POST', '/api/checkin', as);
    expect(checkin.statusCode, checkin.body).toBe(200);
    const afterCheckin = await balanceOf(g, user.id);
    expect(afterCheckin).toBeGreaterThan(1000);

    const { secret } = await createKey(g.t, { accessToken } as RegisteredUser);
    const paid = await v1(g, secret, 'POST', '/v1/chat/completions', chatBody());
    expect(paid.statusCode, paid.body).toBe(200);
    const afterCall = await balanceOf(g, user.id);
    expect(afterCall).toBeLessThan(afterCheckin);
    expect((await usageRows(g, user.id)).length).toBe(1);

    const query = 'Hello from a mini program';
    const difyRes = await call(g.t.app, 'POST', '/api/dify/chat-messages', {
      ...as,
      body: { inputs: {}, query, response_mode: 'blocking', user: 'x' },
    });
    expect(difyRes.statusCode, difyRes.body).toBe(200);
    const answer = difyRes.json<{ metadata: { usage: { prompt_tokens: number; completion_tokens: number } } }>();
    const { prompt_tokens: input, completion_tokens: output } = answer.metadata.usage;
    expect(await balanceOf(g, user.id)).toBe(afterCall - difyCharge(1, input, output));
    await expectBooksBalanced(g, user.id);

    const history = await call(g.t.app, 'GET', '/api/credits/history', as);
    expect(history.statusCode).toBe(200);
  });
});

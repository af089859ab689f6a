import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '#core/http/route-config.ts';
import { FakeWeChat } from '#test/fakes/wechat.ts';
import { FakeWeChatPay } from '#test/fakes/wechat-pay.ts';
import { createSharedBackend, type SharedBackend } from '#test/helpers/instances.ts';
import { backends, call, freshEmail, freshIp, STRONG_PASSWORD } from '#test/helpers/test-app.ts';
import { grantKey } from '#modules/orders/orders.books.ts';
import { injectInto, payEnv, recharge } from './wechat-pay-helpers.ts';

/**
 * Three Tollgate instances on one database (and one Redis where there is one): WeChat Pay sends one
 * payment's notification 20 times at once, spread over the three. The order is fulfilled once, the
 * credits granted once, the balance still the sum of the ledger.
 */
describe.each(backends())('WeChat Pay notifications on three instances ($label)', (backend) => {
  let shared: SharedBackend;
  let pay: FakeWeChatPay;
  let wechat: FakeWeChat;
  let apps: App[];

  beforeAll(async () => {
    [pay, wechat] = await Promise.all([FakeWeChatPay.start(), FakeWeChat.start()]);
    shared = await createSharedBackend(backend);
    apps = [];
    for (let i = 0; i < 3; i += 1) apps.push(await shared.start(payEnv(pay, wechat)));
  });
  afterAll(async () => {
    await shared?.close();
    await Promise.all([pay?.close(), wechat?.close()]);
  });

  /** Signs a user up on the first instance, the way a person does (the code is read from the shared outbox). */
  async function signUp(): Promise<{ id: string; token: string }> {
    const email = freshEmail('wxpay');
    const ip = freshIp();
    expect((await call(apps[0]!, 'POST', '/api/auth/send-code', { body: { email }, ip })).statusCode).toBe(200);
    const outbox = join(shared.dataDir, 'outbox.jsonl');
    const mail = existsSync(outbox)
      ? readFileSync(outbox, 'utf8')
          .split('\n')
          .filter(Boolean)
          .map((line) => JSON.parse(line) as { to: string; text: string })
          .filter((m) => m.to === email)
          .at(-1)
      : undefined;
    const code = /\b(\d{6})\b/.exec(mail?.text ?? '')?.[1];
    const res = await call(apps[0]!, 'POST', '/api/auth/register', {
      body: { email, password: STRONG_PASSWORD, username: email.split('@')[0], code },
      ip,
    });
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json<{ access_token: string; user: { id: string } }>();
    return { id: body.user.id, token: body.access_token };
  }

  it('20 copies of one notification at once on three instances: one fulfilment, one grant', async () => {
    const user = await signUp();
    const credits = apps[1]!.services.credits;
    const before = (await credits.account(user.id)).balance;
    const { order } = await recharge(apps[2]!, user.token, 'medium');
    pay.notify = 'never';
    const note = await pay.pay(order.orderNo);
    const copies = Array.from({ length: 20 }, (_, i) => injectInto(() => apps[i % 3]!)(note));
    const answers = await Promise.all(copies);
    // Every copy is acknowledged, or refused with FAIL for WeChat to send again: never a half-applied one.
    for (const answer of answers) {
      expect([204, 500, 503]).toContain(answer.status);
      if (answer.status !== 204) expect(JSON.parse(answer.body)).toMatchObject({ code: 'FAIL' });
    }
    expect(answers.filter((a) => a.status === 204).length).toBeGreaterThan(0);
    // WeChat Pay's retries of anything not acknowledged (they all find the order fulfilled).
    for (const [i, answer] of answers.entries())
      if (answer.status !== 204) expect((await injectInto(() => apps[i % 3]!)(note)).status).toBe(204);

    expect((await credits.account(user.id)).balance).toBe(before + 5500);
    expect(await credits.ledgerSum(user.id)).toBe((await credits.account(user.id)).balance);
    const stored = (await apps[0]!.services.orders.find(order.orderNo))!;
    expect(stored.status).toBe('fulfilled');
    expect(await credits.entryByKey(grantKey(stored.id))).toMatchObject({ amount: 5500 });
    const detail = await apps[0]!.services.orders.detail(order.orderNo);
    expect(detail.events.filter((e) => e.type === 'fulfilled')).toHaveLength(1);
  });
});

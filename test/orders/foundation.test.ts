import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends, call, createTestApp, registerUser, type TestApp } from '#test/helpers/test-app.ts';
import { TestProvider } from '#test/helpers/payments.ts';

// Uses the test-only provider (test/helpers/payments.ts) for the order state machine.
describe.each(backends())('orders: purchase and recharge on $label', (backend) => {
  let t: TestApp;
  const wechat = new TestProvider('wechat');

  beforeAll(async () => {
    t = await createTestApp(backend, { overrides: { paymentProviders: [wechat] } });
  });
  afterAll(() => t?.close());

  it('a plan bought by QR is priced by the server, and its payment activates the plan with its credits once', async () => {
    const user = await registerUser(t);
    const res = await call(t.app, 'POST', '/v1/vip/purchase', {
      token: user.accessToken,
      body: { planId: 'monthly', channel: 'wechat_native', amount: 1, price: 1 },
    });
    expect(res.statusCode).toBe(200);
    const { order, checkout } = res.json<{
      data: { order: { orderNo: string; amount: number; status: string }; checkout: { codeUrl: string } };
    }>().data;
    expect(order).toMatchObject({ amount: 2900, status: 'pending' });
    expect(checkout.codeUrl).toMatch(/^weixin:\/\//);
    const before = (await t.app.services.credits.account(user.id)).balance;
    const evidence = wechat.pay(order.orderNo);
    expect(await t.app.services.orders.confirmPaid(evidence, 'n1')).toBe('fulfilled');
    expect(await t.app.services.orders.confirmPaid(evidence, 'n1')).toBe('already');
    expect((await t.app.services.credits.account(user.id)).balance).toBe(before + 3000);
    const info = await call(t.app, 'GET', '/v1/vip/info', { token: user.accessToken });
    expect(info.json<{ data: { isVip: boolean; plan: { code: string } } }>().data).toMatchObject({
      isVip: true,
      plan: { code: 'monthly' },
    });
  });

  it('a credit pack recharge grants its credits once', async () => {
    const user = await registerUser(t);
    const res = await call(t.app, 'POST', '/v1/points/recharge', {
      token: user.accessToken,
      body: { packId: 'medium', channel: 'wechat_native' },
    });
    expect(res.statusCode).toBe(200);
    const { order } = res.json<{ data: { order: { orderNo: string; amount: number; credits: number } } }>().data;
    expect(order).toMatchObject({ amount: 5000, credits: 5500 });
    const before = (await t.app.services.credits.account(user.id)).balance;
    await t.app.services.orders.confirmPaid(wechat.pay(order.orderNo), null);
    expect((await t.app.services.credits.account(user.id)).balance).toBe(before + 5500);
  });
});

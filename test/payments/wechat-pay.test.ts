import { generateKeyPairSync, verify } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminToken, backends, call, registerUser, type RegisteredUser } from '#test/helpers/test-app.ts';
import { checkBooks } from '#test/reliability/support/books.ts';
import { miniProgramUser, NOTIFY_URL, recharge, startPayApp, type PayTestApp } from './wechat-pay-helpers.ts';

/**
 * The whole path through the real protocol: a user buys, Tollgate asks the fake WeChat Pay (signed),
 * the payer pays, WeChat Pay notifies (signed, encrypted) and the order is fulfilled once; every bad
 * notification is refused with FAIL and changes nothing (docs/wechat-pay.md).
 */
describe.each(backends())('WeChat Pay end to end on $label', (backend) => {
  let w: PayTestApp;
  beforeAll(async () => {
    w = await startPayApp(backend);
    admin = await adminToken(w.t);
  });
  afterAll(() => w?.close());

  let admin: string;
  const adminRefund = async (orderId: string, body: { amount?: number; reason: string }) => {
    const res = await call(w.t.app, 'POST', `/api/admin/orders/${orderId}/refund`, { token: admin, body });
    expect(res.statusCode, res.body).toBe(200);
    return res.json<{ refunds: { refundNo: string; status: string; amount: number }[] }>();
  };
  const balance = async (user: RegisteredUser) => (await w.t.app.services.credits.account(user.id)).balance;
  const order = async (orderNo: string) => (await w.t.app.services.orders.find(orderNo))!;
  const txOf = (orderNo: string) => w.pay.transactionOf(w.pay.transactions.get(orderNo)!);
  const paidNotification = (orderNo: string, change: Record<string, unknown> = {}, url = NOTIFY_URL) =>
    w.pay.notification(url, 'TRANSACTION.SUCCESS', 'transaction', { ...txOf(orderNo), ...change });

  it('mini-program: a plan bought with JSAPI gets wx.requestPayment parameters signed with the merchant key, and the payment activates it once', async () => {
    const payer = await miniProgramUser(w.t.app, w.wechat);
    const res = await call(w.t.app, 'POST', '/v1/vip/purchase', { token: payer.token, body: { planId: 'monthly' } });
    expect(res.statusCode, res.body).toBe(200);
    const { order: created, checkout } = res.json<{
      data: {
        order: { orderNo: string; amount: number };
        checkout: {
          payment: {
            appId: string;
            timeStamp: string;
            nonceStr: string;
            package: string;
            signType: string;
            paySign: string;
          };
        };
      };
    }>().data;
    const tx = w.pay.transactions.get(created.orderNo)!;
    expect(tx).toMatchObject({ tradeType: 'JSAPI', openid: payer.openid, total: 2900 });
    const p = checkout.payment;
    expect(p).toMatchObject({ appId: w.pay.appid, package: `prepay_id=${tx.prepayId}`, signType: 'RSA' });
    const signed = `${p.appId}\n${p.timeStamp}\n${p.nonceStr}\n${p.package}\n`;
    expect(verify('sha256', Buffer.from(signed), w.pay.merchant.publicKey, Buffer.from(p.paySign, 'base64'))).toBe(
      true,
    );
    expect((await order(created.orderNo)).provider_ref).toBe(tx.prepayId);

    w.pay.notify = 'held';
    const note = await w.pay.pay(created.orderNo);
    w.pay.notify = 'immediately';
    // Seed 003's other callback path: the same handler.
    const answer = await w.pay.send({ ...note, url: 'https://tollgate.example.com/v1/vip/payment-callback' });
    expect(answer.status).toBe(204);
    const info = await call(w.t.app, 'GET', '/v1/vip/info', { token: payer.token });
    expect(info.json<{ data: { isVip: boolean; plan: { code: string } } }>().data).toMatchObject({
      isVip: true,
      plan: { code: 'monthly' },
    });
    expect(await order(created.orderNo)).toMatchObject({ status: 'fulfilled', transaction_id: tx.transactionId });
  });

  it('console: a recharge by QR (Native) is granted once, however often the notification comes again', async () => {
    const user = await registerUser(w.t);
    const before = await balance(user);
    const { order: created, checkout } = await recharge(w.t.app, user.accessToken);
    expect(checkout.codeUrl).toBe(w.pay.transactions.get(created.orderNo)!.codeUrl);
    expect(created).toMatchObject({ amount: 5000, credits: 5500, status: 'pending' });
    const note = await w.pay.pay(created.orderNo);
    expect(note.answers).toEqual([204]);
    expect(await balance(user)).toBe(before + 5500);
    // Replays: the same bytes again, later, and a fresh notification of the same payment.
    w.t.clock.advance(60_000);
    expect((await w.pay.send(note)).status).toBe(204);
    expect((await w.pay.send(paidNotification(created.orderNo))).status).toBe(204);
    expect(await balance(user)).toBe(before + 5500);
    expect(await order(created.orderNo)).toMatchObject({
      status: 'fulfilled',
      transaction_id: w.pay.transactions.get(created.orderNo)!.transactionId,
    });
  });

  it('refuses a forged signature, another key, a probe and a stale timestamp (401 FAIL); the order stays unpaid until the genuine one', async () => {
    const user = await registerUser(w.t);
    const before = await balance(user);
    const { order: created } = await recharge(w.t.app, user.accessToken, 'small');
    w.pay.notify = 'never';
    const genuine = await w.pay.pay(created.orderNo);
    w.pay.notify = 'immediately';
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    const tx = txOf(created.orderNo);
    const bad = [
      { ...genuine, body: genuine.body.replace('"TRANSACTION.SUCCESS"', '"TRANSACTION.SUCCESS" ') },
      {
        ...genuine,
        headers: {
          ...genuine.headers,
          'wechatpay-signature': 'Zm9yZ2Vk' + genuine.headers['wechatpay-signature']!.slice(8),
        },
      },
      w.pay.notification(NOTIFY_URL, 'TRANSACTION.SUCCESS', 'transaction', tx, { key: other }),
      w.pay.notification(NOTIFY_URL, 'TRANSACTION.SUCCESS', 'transaction', tx, { probe: true }),
      w.pay.notification(NOTIFY_URL, 'TRANSACTION.SUCCESS', 'transaction', tx, { skewSeconds: -301 }),
    ];
    for (const n of bad) {
      const answer = await w.pay.send(n);
      expect(answer.status).toBe(401);
      expect(JSON.parse(answer.body)).toMatchObject({
        code: 'FAIL',
        message: expect.any(String),
        success: false,
        statusCode: 401,
      });
    }
    expect(await order(created.orderNo)).toMatchObject({ status: 'pending', transaction_id: null });
    expect(await balance(user)).toBe(before);
    // The genuine notification, delivered late (4 minutes): accepted.
    w.t.clock.advance(4 * 60_000);
    expect((await w.pay.send(genuine)).status).toBe(204);
    expect(await balance(user)).toBe(before + 1000);
  });

  it('refuses an amount or a mchid that does not match the order, and an order Tollgate never made: FAIL, nothing changes', async () => {
    const user = await registerUser(w.t);
    const before = await balance(user);
    const { order: created } = await recharge(w.t.app, user.accessToken, 'small');
    w.pay.notify = 'never';
    await w.pay.pay(created.orderNo);
    w.pay.notify = 'immediately';
    const tx = txOf(created.orderNo);
    const lessMoney = await w.pay.send(
      paidNotification(created.orderNo, { amount: { ...(tx.amount as object), total: 1 } }),
    );
    expect(lessMoney.status).toBe(400);
    expect(JSON.parse(lessMoney.body)).toMatchObject({ code: 'FAIL' });
    const otherCurrency = await w.pay.send(
      paidNotification(created.orderNo, { amount: { ...(tx.amount as object), currency: 'USD' } }),
    );
    expect(otherCurrency.status).toBe(400);
    expect((await w.pay.send(paidNotification(created.orderNo, { mchid: '1230000109' }))).status).toBe(400);
    expect((await w.pay.send(paidNotification(created.orderNo, { appid: 'wx0000000000000000' }))).status).toBe(400);
    const unknown = await w.pay.send(paidNotification(created.orderNo, { out_trade_no: 'NEVERMADE0001' }));
    expect(unknown.status).toBe(404);
    expect(JSON.parse(unknown.body)).toMatchObject({ code: 'FAIL' });
    expect(await order(created.orderNo)).toMatchObject({ status: 'pending' });
    expect(await balance(user)).toBe(before);
  });

  it('a notification that arrives before the prepay answer fulfils the order once; the order keeps its prepay reference', async () => {
    const user = await registerUser(w.t);
    const before = await balance(user);
    w.pay.payDuringPrepay = true;
    let created;
    try {
      created = (await recharge(w.t.app, user.accessToken, 'small')).order;
    } finally {
      w.pay.payDuringPrepay = false;
    }
    const note = w.pay.notifications.at(-1)!;
    expect(note.answers).toEqual([204]);
    expect(await balance(user)).toBe(before + 1000);
    expect(await order(created.orderNo)).toMatchObject({
      status: 'fulfilled',
      provider_ref: w.pay.transactions.get(created.orderNo)!.codeUrl,
    });
  });

  it('killed between verifying and fulfilling: nothing is written, WeChat is told to retry, and the retry (or a query) fulfils exactly once', async () => {
    const user = await registerUser(w.t);
    const before = await balance(user);
    const { order: created } = await recharge(w.t.app, user.accessToken, 'small');
    const books = w.t.app.services.orders.books;
    const confirm = books.confirmPaid.bind(books);
    // The process dies after the notification is verified, before the fulfilling transaction commits.
    books.confirmPaid = () => Promise.reject(new Error('process killed'));
    let note;
    try {
      note = await w.pay.pay(created.orderNo);
    } finally {
      books.confirmPaid = confirm;
    }
    expect(note.answers).toEqual([500]);
    expect(await order(created.orderNo)).toMatchObject({ status: 'pending' });
    expect(await balance(user)).toBe(before);
    // The reconcile job asks WeChat Pay about orders pending for more than a minute, and fulfils the paid one.
    w.t.clock.advance(61_000);
    const pass = await w.t.app.services.reconciler.run();
    expect(pass.fulfilled).toBeGreaterThanOrEqual(1);
    expect(await order(created.orderNo)).toMatchObject({ status: 'fulfilled' });
    expect(await balance(user)).toBe(before + 1000);
    // WeChat's retry comes too: acknowledged, not granted twice.
    await w.pay.redeliver();
    expect(note.answers).toEqual([500, 204]);
    expect(await balance(user)).toBe(before + 1000);
  });

  it('refunds whole and in parts through the v3 refund API and its notification; the credits are taken back once', async () => {
    const user = await registerUser(w.t);
    const before = await balance(user);
    const { order: whole } = await recharge(w.t.app, user.accessToken, 'small');
    const paidNote = await w.pay.pay(whole.orderNo);
    expect(await balance(user)).toBe(before + 1000);
    const detail = await adminRefund(whole.id, { reason: '用户申请退款' });
    const refundNo = detail.refunds[0]!.refundNo;
    expect(detail.refunds[0]).toMatchObject({ status: 'pending', amount: 1000 });
    expect(w.pay.refunds.get(refundNo)).toMatchObject({ status: 'PROCESSING', refund: 1000, total: 1000 });
    w.pay.notify = 'held';
    const note = await w.pay.settleRefund(refundNo);
    w.pay.notify = 'immediately';
    // The refund path of Tollgate's choice (the refund notify_url is the payment one unless set apart).
    const answer = await w.pay.send({ ...note, url: 'https://tollgate.example.com/api/payments/wechat/notify' });
    expect(answer.status).toBe(204);
    expect((await w.pay.send(note)).status).toBe(204);
    expect(await balance(user)).toBe(before);
    expect(await order(whole.orderNo)).toMatchObject({ status: 'refunded', refunded_amount: 1000 });
    // Out of order: the payment's notification comes again after the refund (a WeChat retry): nothing is granted again.
    expect((await w.pay.send(paidNote)).status).toBe(204);
    expect(await balance(user)).toBe(before);
    expect(await order(whole.orderNo)).toMatchObject({ status: 'refunded' });

    const { order: parts } = await recharge(w.t.app, user.accessToken, 'medium');
    await w.pay.pay(parts.orderNo);
    expect(await balance(user)).toBe(before + 5500);
    const first = await adminRefund(parts.id, { amount: 2000, reason: '部分退款' });
    await w.pay.settleRefund(first.refunds[0]!.refundNo);
    expect(await order(parts.orderNo)).toMatchObject({ status: 'partially_refunded', refunded_amount: 2000 });
    expect(await balance(user)).toBe(before + 5500 - 2200);
    const second = await adminRefund(parts.id, { reason: '余下退款' });
    const secondNo = second.refunds.find((r) => r.refundNo !== first.refunds[0]!.refundNo)!.refundNo;
    expect(w.pay.refunds.get(secondNo)).toMatchObject({ refund: 3000, total: 5000 });
    await w.pay.settleRefund(secondNo);
    expect(await order(parts.orderNo)).toMatchObject({ status: 'refunded', refunded_amount: 5000 });
    expect(await balance(user)).toBe(before);
    // Asking for more than is left is refused before WeChat Pay is asked.
    const more = await call(w.t.app, 'POST', `/api/admin/orders/${parts.id}/refund`, {
      token: admin,
      body: { amount: 1, reason: 'x' },
    });
    expect(more.statusCode).toBe(409);
    expect([...w.pay.refunds.values()].filter((r) => r.outTradeNo === parts.orderNo)).toHaveLength(2);
  });

  it('a refund WeChat Pay refuses fails and frees its amount; one it does not answer is asked again by the reconcile job, never twice', async () => {
    const user = await registerUser(w.t);
    const before = await balance(user);
    const { order: paid } = await recharge(w.t.app, user.accessToken, 'small');
    await w.pay.pay(paid.orderNo);
    w.pay.failNext('refund', 403, 'NOT_ENOUGH');
    const refused = await call(w.t.app, 'POST', `/api/admin/orders/${paid.id}/refund`, {
      token: admin,
      body: { reason: '商户余额不足时' },
    });
    expect(refused.statusCode).toBe(409);
    expect(refused.json()).toMatchObject({ code: 'WECHAT_PAY_REFUND_REFUSED' });
    expect(await order(paid.orderNo)).toMatchObject({ status: 'fulfilled', refund_requested: 0, refunded_amount: 0 });
    expect(await balance(user)).toBe(before + 1000);

    w.pay.failNext('refund', 500, 'SYSTEM_ERROR');
    const unanswered = await adminRefund(paid.id, { amount: 400, reason: '系统繁忙' });
    const refundNo = unanswered.refunds.find((r) => r.status === 'pending')!.refundNo;
    expect(w.pay.refunds.has(refundNo)).toBe(false);
    w.t.clock.advance(61_000);
    await w.t.app.services.reconciler.run();
    expect(w.pay.refunds.get(refundNo)).toMatchObject({ status: 'PROCESSING', refund: 400 });
    w.t.clock.advance(61_000);
    await w.t.app.services.reconciler.run();
    expect([...w.pay.refunds.values()].filter((r) => r.outTradeNo === paid.orderNo)).toHaveLength(1);
    await w.pay.settleRefund(refundNo);
    expect(await order(paid.orderNo)).toMatchObject({ status: 'partially_refunded', refunded_amount: 400 });
    expect(await balance(user)).toBe(before + 600);
  });

  it('an order nobody pays is closed at WeChat Pay and here once it expires', async () => {
    const user = await registerUser(w.t);
    const { order: created } = await recharge(w.t.app, user.accessToken, 'small');
    w.t.clock.advance(31 * 60_000);
    await w.t.app.services.reconciler.run();
    expect(w.pay.transactions.get(created.orderNo)!.state).toBe('CLOSED');
    expect(await order(created.orderNo)).toMatchObject({ status: 'closed' });
    // Closed at WeChat Pay: the payer can no longer pay it.
    await expect(w.pay.pay(created.orderNo)).rejects.toThrow(/CLOSED/);
  });

  it('the books tie: every balance is its ledger, every fulfilled order has one grant, refunds add up', async () => {
    const books = await checkBooks(w.t.app.services.database.db, { openHoldsAllowed: false });
    expect(books.violations).toEqual([]);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '#core/http/route-config.ts';
import { createSharedBackend, type SharedBackend } from '#test/helpers/instances.ts';
import { TestProvider } from '#test/helpers/payments.ts';
import { ManualClock } from '#test/helpers/clock.ts';
import { backends, freshEmail, STRONG_PASSWORD } from '#test/helpers/test-app.ts';

// Three instances on one database, each with the test-only provider of test/helpers/payments.ts,
// which shares one provider-side book (the same WeChat merchant) between them.
describe.each(backends().filter((b) => b.dialect !== 'sqlite' || b.kv === 'memory'))(
  'orders on three instances, $label',
  (backend) => {
    const serverDatabase = backend.dialect !== 'sqlite';
    let shared: SharedBackend;
    let apps: App[];
    const provider = new TestProvider('wechat');
    const clock = new ManualClock();

    beforeAll(async () => {
      shared = await createSharedBackend(backend);
      apps = [];
      for (let i = 0; i < 3; i += 1)
        apps.push(await shared.start({ ORDER_QUERY_AFTER: '60' }, { paymentProviders: [provider], clock }));
    });
    afterAll(() => shared?.close());

    const signUp = async (): Promise<string> => {
      const app = apps[0]!;
      const email = freshEmail();
      const user = await app.services.users.create(
        { email, password: STRONG_PASSWORD, username: email.split('@')[0]! },
        (trx, row) => app.services.credits.openAccount(trx, row.id, 0),
      );
      return user.id;
    };
    const order = (userId: string) =>
      apps[0]!.services.orders.createOrder({
        userId,
        item: { kind: 'credits', packId: 'small' },
        channel: 'wechat_native',
      });
    const balance = (userId: string) => apps[1]!.services.credits.account(userId).then((a) => a.balance);

    // Several instances share a server database (DESIGN.md, Scale); on SQLite the copies go to one instance.
    it('20 copies of one notification across the instances fulfil it once', async () => {
      const userId = await signUp();
      const { order: made } = await order(userId);
      const evidence = provider.pay(made.order_no);
      const answers = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          apps[serverDatabase ? i % 3 : 0]!.services.orders.confirmPaid(evidence, `copy-${i}`),
        ),
      );
      expect(answers.filter((a) => a === 'fulfilled')).toHaveLength(1);
      expect(await balance(userId)).toBe(1000);
      expect(await apps[2]!.services.credits.ledgerSum(userId)).toBe(1000);
    });

    it('paid with no notification (or a process killed before its commit): the reconcile job fulfils it once, whichever instances run it', async () => {
      const userId = await signUp();
      const { order: made } = await order(userId);
      provider.pay(made.order_no); // the payer paid; no notification arrives
      expect(await balance(userId)).toBe(0);
      clock.advance(61_000);
      const runs = await Promise.all(apps.map((app) => app.services.reconciler.run()));
      expect(runs.reduce((n, r) => n + r.fulfilled, 0)).toBe(1);
      expect(await balance(userId)).toBe(1000);
      // A notification arriving afterwards changes nothing.
      expect(await apps[1]!.services.orders.confirmPaid(provider.pay(made.order_no), null)).toBe('already');
      expect(await balance(userId)).toBe(1000);
    });

    it('an unpaid order past its expiry is closed at the provider and here, by one instance; a later payment is not granted', async () => {
      const userId = await signUp();
      const { order: made } = await order(userId);
      const closesBefore = provider.closes;
      clock.advance(31 * 60_000);
      const runs = await Promise.all(apps.map((app) => app.services.reconciler.run()));
      expect(runs.reduce((n, r) => n + r.closed, 0)).toBe(1);
      expect(provider.closes - closesBefore).toBe(1);
      const detail = await apps[2]!.services.orders.detail(made.id);
      expect(detail.order.status).toBe('closed');
      expect(await balance(userId)).toBe(0);
    });
  },
);

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GroupCommit } from '#core/db/group-commit.ts';
import { AppError } from '#core/errors.ts';
import { backends, createTestApp, registerUser, type TestApp } from '#test/helpers/test-app.ts';

describe.each(backends())('group commit on $label', (backend) => {
  let t: TestApp;
  let group: GroupCommit;
  beforeAll(async () => {
    t = await createTestApp(backend, { env: { SIGNUP_BONUS: '100' } });
    group = new GroupCommit(t.app.services.database.db);
  });
  afterAll(() => t.close());

  it('runs units that arrive together in one batch, each with its own answer, and undoes only the refused ones', async () => {
    const user = await registerUser(t);
    const { credits } = t.app.services;
    // 30 holds of 7 race a balance of 100: exactly 14 fit; the other 16 are refused and leave no hold row.
    const results = await Promise.allSettled(
      Array.from({ length: 30 }, (_, i) => group.run((trx) => credits.reserveIn(trx, user.id, 7, { idempotencyKey: `gc:${user.id}:${i}` }))),
    );
    const held = results.filter((r) => r.status === 'fulfilled');
    const refused = results.filter((r) => r.status === 'rejected');
    expect(held).toHaveLength(14);
    expect(refused.every((r) => r.reason instanceof AppError && r.reason.code === 'INSUFFICIENT_CREDITS')).toBe(true);
    expect(await credits.account(user.id)).toEqual({ balance: 100, held: 98, available: 2 });
    expect(await credits.openHolds(user.id)).toBe(14);

    // Settle them together: each charges its own amount once; the ledger and the balance agree.
    const holds = held.map((r) => (r as PromiseFulfilledResult<{ id: string }>).value);
    await Promise.all(holds.map((hold, i) => group.run((trx) => credits.settleIn(trx, hold.id, i % 2 === 0 ? 7 : 3, { reason: 'batch' }))));
    const charged = holds.reduce((sum, _, i) => sum + (i % 2 === 0 ? 7 : 3), 0);
    expect(await credits.account(user.id)).toEqual({ balance: 100 - charged, held: 0, available: 100 - charged });
    expect(await credits.ledgerSum(user.id)).toBe(100 - charged);
    expect(await credits.openHolds(user.id)).toBe(0);
  });

  it('a unit that throws something else fails alone; the batch commits the rest', async () => {
    const user = await registerUser(t);
    const { credits } = t.app.services;
    const results = await Promise.allSettled([
      group.run((trx) => credits.reserveIn(trx, user.id, 10, { idempotencyKey: `gc2:${user.id}:a` })),
      group.run(async (trx) => {
        await credits.reserveIn(trx, user.id, 10, { idempotencyKey: `gc2:${user.id}:b` });
        throw new Error('changed my mind');
      }),
      group.run((trx) => credits.reserveIn(trx, user.id, 10, { idempotencyKey: `gc2:${user.id}:c` })),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(await credits.account(user.id)).toEqual({ balance: 100, held: 20, available: 80 });
    expect(await credits.openHolds(user.id)).toBe(2);
  });
});

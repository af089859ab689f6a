import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createSharedBackend, type SharedBackend } from '#test/helpers/instances.ts';
import { ADMIN_ENV, backends } from '#test/helpers/test-app.ts';

describe.each(backends())('holds left by a crashed instance on $label', (backend) => {
  let shared: SharedBackend;
  beforeEach(async () => {
    shared = await createSharedBackend(backend);
  });
  afterEach(() => shared.close());

  it('are freed when the next instance starts, without waiting for the sweep interval', async () => {
    // The sweep interval is long: only the sweep at start can free the hold within this test.
    const env = { ...ADMIN_ENV, HOLD_SWEEP_INTERVAL: '3600' };
    const first = await shared.start(env);
    const admin = await first.services.users.findByEmail(ADMIN_ENV.ADMIN_EMAIL);
    await first.services.credits.grant(admin!.id, 500, {
      kind: 'admin_adjust',
      reason: 'funds',
      idempotencyKey: 'startup-sweep:funds',
    });
    // A call in flight: its hold may live 1 ms, and the instance goes away before closing it.
    await first.services.credits.reserve(admin!.id, 200, { idempotencyKey: 'startup-sweep:call', ttlMs: 1 });
    expect(await first.services.credits.account(admin!.id)).toEqual({ balance: 500, held: 200, available: 300 });
    await new Promise((resolve) => setTimeout(resolve, 5));

    const second = await shared.start(env);
    expect(await second.services.credits.openHolds(admin!.id)).toBe(0);
    expect(await second.services.credits.account(admin!.id)).toEqual({ balance: 500, held: 0, available: 500 });
    expect(await second.services.credits.ledgerSum(admin!.id)).toBe(500);
  });
});

import { drive } from '#test/reliability/load/driver.ts';
import { LoadLog } from '#test/reliability/load/load-log.ts';
import type { LoadContext } from '#test/reliability/load/operation.ts';
import { OPERATIONS } from '#test/reliability/load/operations.ts';
import { createCodes, createKey, registerUser, type LoadUser } from '#test/reliability/support/accounts.ts';
import { checkBooks } from '#test/reliability/support/books.ts';
import type { Cluster } from '#test/reliability/support/cluster.ts';
import type { TrapServer } from '#test/reliability/support/trap-server.ts';
import { verifyMeteredCalls, waitForNoOpenHolds } from './metered-calls.ts';

export interface MixedLoadOptions {
  users: number;
  operations: number;
  workers: number;
}

/** Upstream paths Tollgate may call on the fake: the calls it relays and its channel probe. */
const UPSTREAM_PATHS = new Set([
  '/v1/chat/completions',
  '/v1/completions',
  '/v1/embeddings',
  '/v1/images/generations',
  '/v1/models',
]);

/**
 * A few users with small balances and a few keys each, and redeem codes to race for; then the mixed
 * load spread over every instance. Afterwards: the books balance, each check-in day and each code was
 * counted once, every answered call was billed once, and no request left for anywhere but the channel.
 */
export async function mixedLoad(cluster: Cluster, trap: TrapServer, options: MixedLoadOptions): Promise<void> {
  const { tally } = cluster;
  const users: LoadUser[] = [];
  for (let i = 0; i < options.users; i++) {
    const user = await registerUser(cluster, i);
    for (let k = 0; k < 3; k++)
      await createKey(cluster, user, { name: `key ${k}` }, (i + k) % cluster.instances.length);
    users.push(user);
  }
  const codes = [...(await createCodes(cluster, 10, 40, 1)), ...(await createCodes(cluster, 4, 25, 2))];
  const ctx: LoadContext = { cluster, users, codes, trap, log: new LoadLog() };
  const fakeRequestsBefore = cluster.fake.requests.length;

  const started = Date.now();
  const ran = await drive(ctx, {
    operations: OPERATIONS,
    workers: options.workers,
    total: options.operations,
    instances: cluster.instances.map((_, i) => i),
  });
  const seconds = (Date.now() - started) / 1000;
  tally.note(
    `${cluster.dialect}: mixed load of ${ran} operations in ${seconds.toFixed(1)} s over ${cluster.instances.length} instances: ${ctx.log.summary()}`,
  );

  const quiet = await waitForNoOpenHolds(cluster.database.db, 15_000);
  tally.check(quiet.open === 0, `${quiet.open} hold(s) still open ${quiet.waitedMs} ms after the load`);
  await verifyMeteredCalls(cluster.database.db, tally, ctx.log.calls);

  const db = cluster.database.db;
  for (const user of users) {
    const rows = await db.selectFrom('checkins').select('checkin_date').where('user_id', '=', user.id).execute();
    const successes = ctx.log.checkins.get(user.id) ?? 0;
    tally.check(successes <= 1, `user ${user.id} checked in ${successes} times today`);
    tally.check(
      rows.length === successes,
      `user ${user.id}: ${successes} successful check-in answers, ${rows.length} check-in rows`,
    );
  }
  for (const code of codes) {
    const row = await db
      .selectFrom('redeem_codes')
      .select('used_count')
      .where('id', '=', code.id)
      .executeTakeFirstOrThrow();
    const successes = ctx.log.redeemed.get(code.id) ?? 0;
    tally.check(successes <= code.maxUses, `code ${code.id} (max ${code.maxUses}) redeemed ${successes} times`);
    tally.check(
      Number(row.used_count) === successes,
      `code ${code.id}: ${successes} successful redeem answers, used_count ${row.used_count}`,
    );
  }
  for (const [pair, n] of ctx.log.redeemedBy) tally.check(n === 1, `code/user ${pair} redeemed ${n} times`);
  // A paid order the provider confirmed reaches its buyer (granted once: checkBooks' order rules).
  for (const [orderNo, { userId }] of ctx.log.paidOrders) {
    const order = await db
      .selectFrom('orders')
      .select(['user_id', 'status', 'fulfilled_at'])
      .where('order_no', '=', orderNo)
      .executeTakeFirst();
    tally.check(
      order?.user_id === userId && order.fulfilled_at !== null,
      `order ${orderNo}: paid and confirmed, but ${order ? `${order.status}, not fulfilled` : 'not found'}`,
    );
  }

  await checkRevenue(cluster, ctx.log);

  const books = await checkBooks(db, { openHoldsAllowed: false });
  books.violations.forEach((v) => tally.violation(v));
  tally.note(`${cluster.dialect}: books after the load: ${JSON.stringify(books.summary)}`);

  tally.check(trap.hits.length === 0, `a client-named upstream was called: ${trap.hits.join(', ')}`);
  const strayPaths = cluster.fake.requests.slice(fakeRequestsBefore).filter((r) => !UPSTREAM_PATHS.has(r.path));
  tally.check(
    strayPaths.length === 0,
    `the channel was called on unexpected paths: ${strayPaths.map((r) => r.path).join(', ')}`,
  );
  const wrongSecret = cluster.fake.requests
    .slice(fakeRequestsBefore)
    .filter((r) => r.headers.authorization !== `Bearer ${cluster.channelSecret}`);
  tally.check(wrongSecret.length === 0, `${wrongSecret.length} upstream call(s) without the channel's own secret`);
}

/**
 * The revenue an admin sees (seed 003's admin stats) is what the payers paid, by the load's own count,
 * less the refunds that went through, per currency, and its days add up to the same.
 */
async function checkRevenue(cluster: Cluster, log: LoadLog): Promise<void> {
  const paid = new Map<string, number>();
  for (const { amount, currency } of log.paidOrders.values()) paid.set(currency, (paid.get(currency) ?? 0) + amount);
  const refunds = await cluster.database.db
    .selectFrom('order_refunds')
    .select(['currency', 'amount'])
    .where('status', '=', 'succeeded')
    .execute();
  const refunded = new Map<string, number>();
  for (const r of refunds) refunded.set(r.currency, (refunded.get(r.currency) ?? 0) + Number(r.amount));
  const answer = await cluster.http.send(cluster.url(0), 'GET', '/v1/admin/stats', { token: cluster.adminToken });
  const { tally } = cluster;
  if (!tally.check(answer.kind === 'answer' && answer.status === 200, 'the admin stats did not answer 200')) return;
  if (answer.kind !== 'answer') return;
  const { revenue } = (JSON.parse(answer.text) as { data: { revenue: Revenue } }).data;
  for (const [currency, received] of paid) {
    const row = revenue.byCurrency.find((c) => c.currency === currency);
    const back = refunded.get(currency) ?? 0;
    tally.check(
      row?.received === received && row.refunded === back && row.net === received - back,
      `revenue in ${currency}: the payers paid ${received} and ${back} was refunded; the admin stats say ${JSON.stringify(row)}`,
    );
    const days = revenue.days.filter((d) => d.currency === currency).reduce((n, d) => n + d.net, 0);
    tally.check(days === received - back, `revenue in ${currency} by day adds up to ${days}, not ${received - back}`);
  }
}

interface Revenue {
  byCurrency: Array<{ currency: string; received: number; refunded: number; net: number }>;
  days: Array<{ currency: string; net: number }>;
}

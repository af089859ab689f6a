import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { FakeDify } from '#test/fakes/dify.ts';
import { FakeStripe } from '#test/fakes/stripe.ts';
import { DIFY_PRICE } from './support/books.ts';
import { Cluster, type ClusterOptions } from './support/cluster.ts';
import { PRICE, MODEL } from './support/pricing.ts';
import { TrapServer } from './support/trap-server.ts';
import { backendOutage } from './scenarios/backend-outage.ts';
import { crashRestart } from './scenarios/crash-restart.ts';
import { keyRevocation } from './scenarios/key-revocation.ts';
import { logSecrets } from './scenarios/log-secrets.ts';
import { mixedLoad } from './scenarios/mixed-load.ts';
import { sharedRateLimits } from './scenarios/shared-rate-limits.ts';
import { upstreamFaults } from './scenarios/upstream-faults.ts';
import { Tally } from './tally.ts';

/**
 * Three real Tollgate processes on one database of `dialect` and one Redis, through fault proxies,
 * with the fake OpenAI as their channel and the fake Dify as their Dify app: the whole multi-instance and fault story, scenario by
 * scenario, on one cluster (starting three processes is the expensive part). Each test asserts that
 * it recorded no violation; the counters go to the run's table.
 */
export function describeCluster(dialect: ClusterOptions['dialect']): void {
  const serverUrl = dialect === 'postgres' ? process.env.TEST_POSTGRES_URL : process.env.TEST_MYSQL_URL;
  const available = Boolean(serverUrl && process.env.TEST_REDIS_URL);

  describe.skipIf(!available)(`three instances on ${dialect} + Redis`, () => {
    const tally = new Tally(`cluster on ${dialect}`);
    let cluster: Cluster;
    let trap: TrapServer;
    let dify: FakeDify;
    let stripe: FakeStripe;

    beforeAll(async () => {
      trap = await TrapServer.start();
      // One chat app with a key of this run, so the log scan can look for it; pings often, as streams run short here.
      const difyKey = `app-rel-${randomBytes(16).toString('hex')}`;
      dify = await FakeDify.start({
        apps: [{ key: difyKey, mode: 'chat', name: 'Reliability Chat' }],
        pingIntervalMs: 50,
      });
      stripe = await FakeStripe.start();
      cluster = await Cluster.start(tally, {
        dialect,
        instances: 3,
        dify,
        stripe,
        env: {
          STRIPE_SECRET_KEY: stripe.secretKey,
          STRIPE_WEBHOOK_SECRET: stripe.webhookSecret,
          STRIPE_SUCCESS_URL: 'https://console.example/orders',
          STRIPE_API_BASE_URL: stripe.baseUrl,
          DIFY_API_URL: dify.url,
          DIFY_API_KEY: difyKey,
          DIFY_APP_MODE: 'chat',
          DIFY_PRICE_INPUT: String(DIFY_PRICE.input),
          DIFY_PRICE_OUTPUT: String(DIFY_PRICE.output),
          DIFY_PRICE_PER_CALL: String(DIFY_PRICE.perCall),
        },
      });
      cluster.secrets.add('Dify app key (DIFY_API_KEY)', difyKey);
      cluster.secrets.add('Stripe secret key (STRIPE_SECRET_KEY)', stripe.secretKey);
      cluster.secrets.add('Stripe webhook secret (STRIPE_WEBHOOK_SECRET)', stripe.webhookSecret);
      await cluster.http.expectJson(cluster.url(0), 'PUT', `/api/admin/pricing/${MODEL}`, 200, {
        token: cluster.adminToken,
        body: PRICE,
      });
      // The price reaches the other instances through Redis pub/sub.
      await new Promise((resolve) => setTimeout(resolve, 300));
    });
    afterAll(async () => {
      await cluster?.close();
      await dify?.close();
      await stripe?.close();
      await trap?.close();
      tally.save(inject('tallyDir'));
    });

    const clean = async (scenario: () => Promise<void>) => {
      const mark = tally.mark;
      await scenario();
      expect(tally.since(mark)).toEqual([]);
    };

    it('a mixed load across the instances keeps the books, counts check-ins and codes once, bills every call once', () =>
      clean(() => mixedLoad(cluster, trap, { users: 5, operations: 450, workers: 10 })));
    it('rate limits hold across instances: three instances do not give three times the limit', () =>
      clean(() => sharedRateLimits(cluster)));
    it('a key disabled on one instance is refused by all at once', () => clean(() => keyRevocation(cluster)));
    it('upstream faults end with a clear error and the right bill', () => clean(() => upstreamFaults(cluster)));
    it('SIGKILL mid-stream: the others keep serving, the restart frees stale holds, no ledger row lost or doubled', () =>
      clean(() => crashRestart(cluster, 1)));
    it('the database briefly away: clear failures, no hang, nothing half-written', () =>
      clean(() => backendOutage(cluster, 'database', 3_000)));
    it('Redis briefly away: clear failures, no hang, nothing half-written', () =>
      clean(() => backendOutage(cluster, 'redis', 3_000)));
    it('a key disabled after the Redis outage still reaches every instance (the bus reconnected)', () =>
      clean(() => keyRevocation(cluster)));
    it('no secret ever reached the logs of any instance', () => clean(() => logSecrets(cluster)));
  });
}

import { adjustCredits, createKey, registerUser } from '#test/reliability/support/accounts.ts';
import type { Cluster } from '#test/reliability/support/cluster.ts';

/**
 * For each instance, how long after the change was acknowledged it still answered the old way: 0 when
 * its very first request after the acknowledgement was already answered the new way.
 */
async function propagation(
  cluster: Cluster,
  secret: string,
  wanted: (status: number) => boolean,
  limitMs: number,
): Promise<number[]> {
  const acknowledged = Date.now();
  return Promise.all(
    cluster.instances.map(async (_, i) => {
      for (let attempt = 0; ; attempt++) {
        const answer = await cluster.http.send(cluster.url(i), 'GET', '/v1/models', { token: secret });
        if (answer.kind === 'answer' && wanted(answer.status))
          return attempt === 0 ? 0 : answer.startedAt - acknowledged;
        if (Date.now() - acknowledged > limitMs) return Infinity;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }),
  );
}

/**
 * A key cached on every instance, disabled on one: every instance refuses it from the next request
 * (Redis pub/sub drops it from their caches before the change is acknowledged, or within milliseconds).
 * Enabling on another instance and deleting on a third apply everywhere the same way.
 */
export async function keyRevocation(cluster: Cluster, limitMs = 1_000): Promise<void> {
  const { tally, http } = cluster;
  const user = await registerUser(cluster);
  await adjustCredits(cluster, user.id, 100);
  const key = await createKey(cluster, user);
  const delays: number[] = [];
  const change = async (via: number, method: 'PATCH' | 'DELETE', body?: unknown) => {
    const answer = await http.send(cluster.url(via), method, `/api/keys/${key.id}`, {
      token: user.accessToken,
      ...(body ? { body } : {}),
    });
    if (answer.kind !== 'answer' || answer.status >= 300)
      throw new Error(`key change failed: ${answer.kind === 'answer' ? answer.status : answer.message}`);
  };
  const warm = async () => {
    for (let i = 0; i < cluster.instances.length; i++) {
      const answer = await http.send(cluster.url(i), 'GET', '/v1/models', { token: key.secret });
      tally.check(answer.kind === 'answer' && answer.status === 200, `the enabled key was refused by instance ${i}`);
    }
  };

  for (let via = 0; via < cluster.instances.length; via++) {
    await warm();
    await change(via, 'PATCH', { enabled: false });
    const refused = await propagation(cluster, key.secret, (s) => s === 401, limitMs * 2);
    delays.push(...refused);
    refused.forEach((ms, i) =>
      tally.check(ms <= limitMs, `key disabled on instance ${via} was still served by instance ${i} ${ms} ms later`),
    );
    await change((via + 1) % cluster.instances.length, 'PATCH', { enabled: true });
    const served = await propagation(cluster, key.secret, (s) => s === 200, limitMs * 2);
    served.forEach((ms, i) =>
      tally.check(ms <= limitMs, `key enabled again was still refused by instance ${i} ${ms} ms later`),
    );
  }
  await warm();
  await change(2 % cluster.instances.length, 'DELETE');
  const gone = await propagation(cluster, key.secret, (s) => s === 401, limitMs * 2);
  gone.forEach((ms, i) => tally.check(ms <= limitMs, `deleted key was still served by instance ${i} ${ms} ms later`));
  delays.push(...gone);
  tally.note(
    `${cluster.dialect}: key disable/delete reached every instance; slowest instance answered the old way for ${Math.max(...delays)} ms after the change was acknowledged`,
  );
}

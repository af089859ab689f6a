import { adjustCredits, createKey, registerUser } from '#test/reliability/support/accounts.ts';
import type { Cluster } from '#test/reliability/support/cluster.ts';
import { MODEL } from '#test/reliability/support/pricing.ts';

const chat = (extra: Record<string, unknown> = {}) => ({
  model: MODEL,
  messages: [{ role: 'user', content: 'hello' }],
  max_tokens: 20,
  fake_behavior: 'usage=10,10',
  ...extra,
});

/** Limits are fixed windows per minute: start a burst well inside one, so it cannot straddle two. */
async function insideOneMinute(): Promise<void> {
  const left = 60_000 - (Date.now() % 60_000);
  if (left < 8_000) await new Promise((resolve) => setTimeout(resolve, left + 50));
}

function statuses(answers: Array<{ kind: string; status?: number }>): Map<string, number> {
  const counts = new Map<string, number>();
  for (const a of answers) {
    const label = a.kind === 'answer' ? String(a.status) : a.kind;
    counts.set(label, (counts.get(label) ?? 0) + 1);
  }
  return counts;
}

/**
 * A key's limits are counted in Redis, shared by every instance: a burst spread over three instances
 * gets the limit once, not three times. Per minute (RPM) and concurrent requests.
 */
export async function sharedRateLimits(cluster: Cluster): Promise<void> {
  const { tally, http } = cluster;
  const n = cluster.instances.length;
  const user = await registerUser(cluster);
  await adjustCredits(cluster, user.id, 5_000);

  const RPM = 6;
  const rpmKey = await createKey(cluster, user, { rateLimits: { rpm: RPM } });
  await insideOneMinute();
  const burst = await Promise.all(
    Array.from({ length: RPM * n }, (_, i) =>
      http.send(cluster.url(i), 'POST', '/v1/chat/completions', { token: rpmKey.secret, body: chat() }),
    ),
  );
  const rpm = statuses(burst);
  tally.check(
    rpm.get('200') === RPM && rpm.get('429') === RPM * (n - 1),
    `RPM ${RPM} over ${n} instances: ${JSON.stringify([...rpm])}`,
  );
  tally.note(
    `${cluster.dialect}: RPM limit ${RPM}, ${RPM * n} calls over ${n} instances → ${JSON.stringify(Object.fromEntries(rpm))}`,
  );

  const CONCURRENCY = 2;
  const slowKey = await createKey(cluster, user, { rateLimits: { concurrency: CONCURRENCY } });
  // Each admitted stream lasts ~1.5 s; the others arrive while the first ones still hold their slots.
  const slow = chat({ stream: true, fake_behavior: 'words=15;chunk-delay=100' });
  const together = await Promise.all(
    Array.from({ length: 3 * n }, (_, i) =>
      http.send(cluster.url(i), 'POST', '/v1/chat/completions', { token: slowKey.secret, body: slow }),
    ),
  );
  const concurrent = statuses(together);
  tally.check(
    concurrent.get('200') === CONCURRENCY && concurrent.get('429') === 3 * n - CONCURRENCY,
    `concurrency ${CONCURRENCY} over ${n} instances: ${JSON.stringify([...concurrent])}`,
  );
  tally.note(
    `${cluster.dialect}: concurrency limit ${CONCURRENCY}, ${3 * n} simultaneous streams over ${n} instances → ${JSON.stringify(Object.fromEntries(concurrent))}`,
  );
}

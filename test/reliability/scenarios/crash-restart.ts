import { Redis } from 'ioredis';
import { adjustCredits, createKey, registerUser } from '#test/reliability/support/accounts.ts';
import { checkBooks, usageByRequest } from '#test/reliability/support/books.ts';
import type { Cluster } from '#test/reliability/support/cluster.ts';
import type { Answer } from '#test/reliability/support/http.ts';
import { chargeFor, MODEL } from '#test/reliability/support/pricing.ts';
import { readStream } from '#test/reliability/support/sse.ts';
import { waitForNoOpenHolds } from './metered-calls.ts';

/** The cluster's CREDIT_HOLD_TTL (support/cluster.ts): also how long a concurrency slot counts at most. */
const SLOT_MAX_AGE_MS = 10_000;

/**
 * Slots in a key's concurrency slot set (`rl:key:<id>:concurrency-slots`, under the cluster's Redis
 * prefix; the key id is unique, so the pattern finds only this key's set), live or aged out but not yet dropped.
 */
async function concurrencySlots(keyId: string): Promise<number> {
  const client = new Redis(process.env.TEST_REDIS_URL!, { lazyConnect: true });
  await client.connect();
  try {
    let total = 0;
    let cursor = '0';
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', `*rl:key:${keyId}:concurrency-slots`, 'COUNT', 1000);
      cursor = next;
      for (const key of keys) total += await client.zcard(key);
    } while (cursor !== '0');
    return total;
  } finally {
    await client.quit();
  }
}

/** A slow stream (~4 s) with a known bill, so a crash lands in the middle of it. */
const slowStream = {
  model: MODEL,
  messages: [{ role: 'user', content: 'count slowly' }],
  max_tokens: 200,
  stream: true,
  fake_behavior: 'words=60;chunk-delay=60;usage=30,60',
};

/**
 * SIGKILL one instance while it relays streams, keep the others busy, restart it. The killed calls'
 * holds stay open until CREDIT_HOLD_TTL, then a sweeper (the restarted instance's at start, or any
 * instance's timer) frees them: no charge, no usage record, no ledger row for a call that never
 * settled. The streams on the other instances finish and are billed exactly once, and the other
 * instances answer everything meanwhile. The killed calls' concurrency slots are never given back, but
 * stop counting CREDIT_HOLD_TTL after they were taken: the next calls drop them.
 */
export async function crashRestart(cluster: Cluster, victim: number): Promise<void> {
  const { tally, http } = cluster;
  const survivors = cluster.instances.map((_, i) => i).filter((i) => i !== victim);
  const user = await registerUser(cluster);
  await adjustCredits(cluster, user.id, 10_000);
  // A concurrency limit on the key, so its in-flight slots are counted in Redis (and a leak would show).
  const key = await createKey(cluster, user, { rateLimits: { concurrency: 100 } });
  const holdsBefore = await cluster.database.db
    .selectFrom('credit_holds')
    .select('id')
    .where('user_id', '=', user.id)
    .execute();

  let victimEvents = 0;
  const onVictim = Array.from({ length: 6 }, () =>
    http.send(cluster.url(victim), 'POST', '/v1/chat/completions', {
      token: key.secret,
      body: slowStream,
      onText: (text) => (victimEvents = Math.max(victimEvents, readStream(text).events)),
    }),
  );
  const onSurvivors = survivors.flatMap((i) =>
    Array.from({ length: 2 }, () =>
      http.send(cluster.url(i), 'POST', '/v1/chat/completions', { token: key.secret, body: slowStream }),
    ),
  );

  // Mid-stream: the victim's streams have delivered a few events each.
  const deadline = Date.now() + 10_000;
  while (victimEvents < 4 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
  tally.check(victimEvents >= 4, `the victim's streams never got going (${victimEvents} events)`);
  // Every slot the victim's calls took was taken before this moment.
  const killedAt = Date.now();
  await cluster.instances[victim]!.stop('SIGKILL');
  tally.fault();

  // The user stays active from now on (a call every 300 ms on the survivors), so the key's slot set is
  // never idle long enough to expire as a whole: only their own age can free the killed calls' slots.
  let active = true;
  const steady: Answer[] = [];
  const keepActive = (async () => {
    for (let n = 0; active; n++) {
      steady.push(
        await http.send(cluster.url(survivors[n % survivors.length]!), 'POST', '/v1/chat/completions', {
          token: key.secret,
          body: { model: MODEL, messages: [{ role: 'user', content: 'still me' }], fake_behavior: 'usage=10,5' },
        }),
      );
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
  })();

  // Meanwhile the survivors keep serving plain calls.
  const during: Answer[] = [];
  const until = Date.now() + 2_000;
  while (Date.now() < until) {
    during.push(
      ...(await Promise.all(
        survivors.map((i) =>
          http.send(cluster.url(i), 'POST', '/v1/chat/completions', {
            token: key.secret,
            body: { model: MODEL, messages: [{ role: 'user', content: 'still there?' }], fake_behavior: 'usage=10,5' },
          }),
        ),
      )),
    );
  }
  const failedDuring = during.filter((a) => a.kind !== 'answer' || a.status !== 200);
  tally.check(
    failedDuring.length === 0,
    `${failedDuring.length} of ${during.length} calls to the surviving instances failed while one was down`,
  );

  // The killed calls' slots are still in the set (the survivors' calls keep it alive), never to be given back.
  const whileDown = await concurrencySlots(key.id);
  const killed = await Promise.all(onVictim);
  const finished = await Promise.all(onSurvivors);
  for (const answer of killed) {
    const whole = answer.kind === 'answer' && readStream(answer.text).sawDone;
    tally.check(!whole, `a stream on the killed instance ended whole (${answer.requestId})`);
  }
  for (const answer of finished) {
    const whole = answer.kind === 'answer' && answer.status === 200 && readStream(answer.text).sawDone;
    tally.check(
      whole,
      `a stream on a surviving instance did not finish (${answer.requestId}: ${answer.kind === 'answer' ? answer.status : answer.message})`,
    );
  }

  const restartedAt = Date.now();
  await cluster.startInstance(victim);
  tally.note(`${cluster.dialect}: instance ${victim} restarted in ${Date.now() - restartedAt} ms after SIGKILL`);

  // Stale holds: freed once past CREDIT_HOLD_TTL (10 s here) by a sweeper.
  const quiet = await waitForNoOpenHolds(cluster.database.db, 25_000);
  tally.check(
    quiet.open === 0,
    `${quiet.open} hold(s) left by the crash still open ${quiet.waitedMs} ms after the restart`,
  );
  const holds = await cluster.database.db
    .selectFrom('credit_holds')
    .select(['id', 'status'])
    .where('user_id', '=', user.id)
    .where('id', 'not in', holdsBefore.length > 0 ? holdsBefore.map((h) => h.id) : [''])
    .execute();
  const expired = holds.filter((h) => h.status === 'expired').length;
  tally.check(expired === killed.length, `${killed.length} streams died with the instance, ${expired} holds expired`);
  tally.note(
    `${cluster.dialect}: ${killed.length} holds left by the SIGKILL were freed ${quiet.waitedMs} ms after the restart (CREDIT_HOLD_TTL=10 s)`,
  );

  const records = await usageByRequest(
    cluster.database.db,
    [...killed, ...finished].map((a) => a.requestId),
  );
  for (const answer of killed)
    tally.check(!records.has(answer.requestId), `the killed call ${answer.requestId} left a usage record`);
  for (const answer of finished) {
    const rows = records.get(answer.requestId) ?? [];
    tally.check(
      rows.length === 1 && rows[0]!.credits === chargeFor(30, 60),
      `the finished stream ${answer.requestId} has ${rows.length} usage records (${rows.map((r) => r.credits).join(', ')} credits)`,
    );
  }
  // Past the slots' maximum age (usually already: waiting for the holds took longer), with calls all along.
  const agedAt = killedAt + SLOT_MAX_AGE_MS + 500;
  if (Date.now() < agedAt) await new Promise((resolve) => setTimeout(resolve, agedAt - Date.now()));
  active = false;
  await keepActive;
  const failedSteady = steady.filter((a) => a.kind !== 'answer' || a.status !== 200);
  tally.check(
    failedSteady.length === 0,
    `${failedSteady.length} of ${steady.length} steady calls to the surviving instances failed after the crash`,
  );

  // Survivors still serve, and the restarted one too.
  for (let i = 0; i < cluster.instances.length; i++) {
    const answer = await http.send(cluster.url(i), 'POST', '/v1/chat/completions', {
      token: key.secret,
      body: { model: MODEL, messages: [{ role: 'user', content: 'hi' }], fake_behavior: 'usage=10,5' },
    });
    tally.check(answer.kind === 'answer' && answer.status === 200, `instance ${i} does not serve after the restart`);
  }
  const books = await checkBooks(cluster.database.db, { openHoldsAllowed: false });
  books.violations.forEach((v) => tally.violation(`after the crash: ${v}`));

  // Nothing is in flight now and the killed calls' slots are past their maximum age: the calls just made
  // dropped them, and gave back their own, so no slot is left.
  let slots = await concurrencySlots(key.id);
  for (const until = Date.now() + 2_000; slots > 0 && Date.now() < until; slots = await concurrencySlots(key.id))
    await new Promise((resolve) => setTimeout(resolve, 100));
  tally.check(
    slots === 0,
    `${slots} concurrency slot(s) of the key still held ${Date.now() - killedAt} ms after the crash (maximum age ${SLOT_MAX_AGE_MS} ms), with nothing in flight`,
  );
  tally.note(
    `${cluster.dialect}: while instance ${victim} was down, the key's slot set held ${whileDown} slot(s) (its ${killed.length} killed calls' and the survivors' streams in flight)`,
  );
  tally.note(
    `${cluster.dialect}: after the crash, past the slots' maximum age and with nothing in flight, the key holds ${slots} concurrency slot(s) ` +
      `(the ${killed.length} killed calls' slots aged out though the user made ${steady.length} calls meanwhile)`,
  );
}

import type { MeteredCall } from '#test/reliability/load/load-log.ts';
import { adjustCredits, createKey, registerUser } from '#test/reliability/support/accounts.ts';
import { checkBooks, usageByRequest } from '#test/reliability/support/books.ts';
import type { Cluster } from '#test/reliability/support/cluster.ts';
import { isClearError, jsonOf, type Answer } from '#test/reliability/support/http.ts';
import { MODEL } from '#test/reliability/support/pricing.ts';
import { verifyMeteredCalls, waitForNoOpenHolds } from './metered-calls.ts';

/** No answer may take longer than this while a backend is away: a hang, not a failure. */
const ANSWER_DEADLINE_MS = 10_000;
/** After the backend is back (and any crashed instance restarted), calls must succeed again within this long. */
const RECOVERY_MS = 8_000;
/** Clients calling at once, all the time: a cut must find connections in the middle of their work. */
const WORKERS = 16;

interface Timed {
  answer: Answer;
  what: string;
  instance: number;
  metered: boolean;
}

/** The error code an answer names (the envelope's `code`, OpenAI's `error.code`/`type`), for the notes. */
function codeOf(answer: Answer): string {
  const body = jsonOf(answer) as { code?: string; error?: { code?: string | null; type?: string } } | undefined;
  return body?.code ?? body?.error?.code ?? body?.error?.type ?? '?';
}

/** The next thing worker `w` does on its `n`-th turn: chat (plain and stream), balance, check-in, by turns. */
function nextCall(cluster: Cluster, token: string, secret: string, w: number, n: number): Promise<Timed> {
  const instance = (w + n) % cluster.instances.length;
  const url = cluster.url(instance);
  const chat = {
    model: MODEL,
    messages: [{ role: 'user', content: 'are you there?' }],
    max_tokens: 20,
    fake_behavior: 'usage=10,10',
  };
  const options = { timeoutMs: ANSWER_DEADLINE_MS };
  const done = (what: string, metered: boolean) => (answer: Answer) => ({
    answer,
    what: `${what} on ${instance}`,
    instance,
    metered,
  });
  switch (n % 4) {
    case 0:
      return cluster.http
        .send(url, 'POST', '/v1/chat/completions', { token: secret, body: chat, ...options })
        .then(done('chat', true));
    case 1:
      return cluster.http
        .send(url, 'POST', '/v1/chat/completions', { token: secret, body: { ...chat, stream: true }, ...options })
        .then(done('stream', true));
    case 2:
      return cluster.http.send(url, 'GET', '/api/credits/balance', { token, ...options }).then(done('balance', false));
    default:
      return cluster.http.send(url, 'POST', '/api/checkin', { token, ...options }).then(done('check-in', false));
  }
}

/**
 * Takes one backend (the database or Redis) away for `outageMs` in the middle of a steady load on
 * every instance, then brings it back. While it is away every request must still be answered, in
 * time, and a failure must be a clear 5xx (500/503 with a body that says so), never a hang. After it,
 * the instances serve again, every hold is closed (by its call or by the sweeper), no failed call was
 * billed, and the books balance: nothing was half-written. An instance that dies of it is a
 * violation, unless it is the known PostgreSQL defect (known-issues.ts), which is then reported and
 * the instance restarted, as a process manager would.
 */
export async function backendOutage(cluster: Cluster, backend: 'database' | 'redis', outageMs: number): Promise<void> {
  const { tally } = cluster;
  const proxy = backend === 'database' ? cluster.dbProxy : cluster.redisProxy;
  const user = await registerUser(cluster);
  await adjustCredits(cluster, user.id, 100_000);
  // Limits on the key so every call touches Redis too (role limits are off in the cluster).
  const key = await createKey(cluster, user, { rateLimits: { rpm: 100_000, concurrency: 1_000 } });
  const exitsBefore = cluster.instances.map((instance) => instance.exits.length);
  const timed: Timed[] = [];
  let stop = false;
  const workers = Array.from({ length: WORKERS }, async (_, w) => {
    for (let n = 0; !stop; n++) {
      const t = await nextCall(cluster, user.accessToken, key.secret, w, n);
      timed.push(t);
      // A dead instance refuses at once: pace the retries as a client would, instead of counting thousands.
      if (t.answer.kind === 'network') await new Promise((resolve) => setTimeout(resolve, 100));
    }
  });

  await new Promise((resolve) => setTimeout(resolve, 1_000));
  const outage = { from: Date.now(), to: 0 };
  proxy.cut();
  tally.fault();
  await new Promise((resolve) => setTimeout(resolve, outageMs));
  proxy.restore();
  outage.to = Date.now();

  // An instance must survive a backend outage; one that died of it is a violation (and is restarted, as a process manager would).
  const crashed = new Set<number>();
  await new Promise((resolve) => setTimeout(resolve, 300));
  for (const [i, instance] of cluster.instances.entries()) {
    for (const exit of instance.exits.slice(exitsBefore[i])) {
      crashed.add(i);
      tally.violation(
        `${backend} outage: instance ${i} exited (${exit.code ?? exit.signal}): ${exit.tail.slice(-600)}`,
      );
    }
  }
  await Promise.all([...crashed].map((i) => cluster.startInstance(i)));
  const back = Date.now();

  // Recovery: every instance answers a whole round without a 5xx within RECOVERY_MS.
  let recoveredAfter = Infinity;
  while (Date.now() - back < RECOVERY_MS) {
    const since = timed.length;
    await new Promise((resolve) => setTimeout(resolve, 300));
    const latest = timed.slice(since);
    if (latest.length >= WORKERS && latest.every((t) => t.answer.kind === 'answer' && t.answer.status < 500)) {
      recoveredAfter = Date.now() - back;
      break;
    }
  }
  stop = true;
  await Promise.all(workers);
  tally.check(
    recoveredAfter <= RECOVERY_MS,
    `${backend}: the instances did not serve again within ${RECOVERY_MS} ms of the ${backend} coming back`,
  );

  // Calls cut by a crash (itself a violation, above) got no answer from the dead process; every other call got one, in time.
  const crashWindow = (t: Timed) => crashed.has(t.instance) && t.answer.startedAt <= back;
  let failures = 0;
  const failureStatuses = new Map<string, number>();
  for (const t of timed) {
    const { answer, what } = t;
    if (answer.kind !== 'answer') {
      if (!(answer.kind === 'network' && crashWindow(t)))
        tally.violation(
          `${backend} outage: ${what} ${answer.requestId} got no answer (${answer.kind} after ${answer.ms} ms: ${answer.message})`,
        );
      continue;
    }
    if (answer.status >= 500) {
      failures += 1;
      const label = `${answer.status} ${codeOf(answer)}`;
      failureStatuses.set(label, (failureStatuses.get(label) ?? 0) + 1);
      tally.check(
        answer.status === 500 || answer.status === 503,
        `${backend} outage: ${what} answered ${answer.status}`,
      );
      tally.check(
        isClearError(answer),
        `${backend} outage: ${what} ${answer.status} without a clear body: ${answer.text.slice(0, 200)}`,
      );
    }
  }

  // Holds: closed by their calls, or (a crash) by the sweeper once past CREDIT_HOLD_TTL.
  const quiet = await waitForNoOpenHolds(cluster.database.db, 25_000);
  tally.check(quiet.open === 0, `${backend}: ${quiet.open} hold(s) still open ${quiet.waitedMs} ms after the outage`);
  const calls: MeteredCall[] = timed
    .filter((t) => t.metered)
    .map((t) => ({
      requestId: t.answer.requestId,
      operation: t.what,
      instance: t.instance,
      answer: t.answer.kind,
      status: t.answer.kind === 'answer' ? t.answer.status : undefined,
      startedAt: t.answer.startedAt,
      endedAt: t.answer.startedAt + t.answer.ms,
    }));
  // Calls that overlapped the outage may have lost their record (answered, then the settle failed): at most one.
  await verifyMeteredCalls(
    cluster.database.db,
    tally,
    calls,
    (call) => call.endedAt >= outage.from && call.startedAt <= back + recoveredAfter,
  );
  const books = await checkBooks(cluster.database.db, { openHoldsAllowed: false });
  books.violations.forEach((v) => tally.violation(`after the ${backend} outage: ${v}`));
  // A call answered 5xx but billed: the settle committed, then something after it failed.
  const failed = calls.filter((c) => c.status !== undefined && c.status >= 500);
  const records = await usageByRequest(
    cluster.database.db,
    failed.map((c) => c.requestId),
  );
  const billedFailures = failed.filter((c) => (records.get(c.requestId) ?? []).some((r) => r.credits > 0));
  tally.check(
    billedFailures.length === 0,
    `${backend} outage: ${billedFailures.length} call(s) answered 5xx yet billed`,
  );
  const during = timed.filter((t) => t.answer.startedAt >= outage.from && t.answer.startedAt <= outage.to);
  const slowest = Math.max(...timed.map((t) => t.answer.ms));
  tally.note(
    `${cluster.dialect}: ${backend} away ${outageMs} ms under ${WORKERS} clients: ${timed.length} requests, ${during.length} during the outage, ${failures} answered 5xx ` +
      `(${JSON.stringify(Object.fromEntries(failureStatuses))}), slowest answer ${slowest} ms, ${crashed.size} instance(s) died and were restarted, ` +
      `serving again ${recoveredAfter} ms after it came back, ${proxy.dropped} connections cut or refused in all, ${billedFailures.length} failed call(s) billed`,
  );
}

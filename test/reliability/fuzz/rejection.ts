import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { describeDefect, knownIssueFor } from '#test/reliability/known-issues.ts';
import type { FuzzApp } from './fuzz-app.ts';
import type { Access } from './routes.ts';
import { changedTables, snapshot, writeCounter, type Snapshot } from './snapshot.ts';

/**
 * The tables a rejected request may still touch: a refused upstream call on /v1 is recorded (a usage
 * record with 0 credits, and its hold closed as released). Balances, ledger and everything else must not move.
 */
export const MAY_CHANGE_WHEN_REJECTED: Record<Access | 'none', string[]> = {
  none: [],
  public: [],
  user: [],
  admin: [],
  apikey: ['usage_records', 'credit_holds'],
};

/** The last snapshot per app and the write count it was taken at: no new snapshot while nothing was written. */
const snapshots = new WeakMap<FuzzApp, { writes: number; snapshot: Snapshot }>();

async function snapshotAt(f: FuzzApp, writes: number): Promise<Snapshot> {
  const cached = snapshots.get(f);
  if (cached?.writes === writes) return cached.snapshot;
  const taken = await snapshot(f.t.app.services.database.db);
  snapshots.set(f, { writes, snapshot: taken });
  return taken;
}

/**
 * Sends one bad input and holds it to the two promises: no 5xx (a known defect is recorded as such),
 * and, when rejected, no table changed. Returns the response for any further check.
 */
export async function sendBadInput(
  f: FuzzApp,
  label: string,
  mode: Access | 'none',
  options: InjectOptions & { url: string },
): Promise<LightMyRequestResponse> {
  const db = f.t.app.services.database.db;
  const writes = await writeCounter(db);
  const before = await snapshotAt(f, writes);
  f.tally.badInput();
  const response = await f.inject({ ...options, headers: { ...options.headers, ...f.credentials(mode) } });
  const body =
    typeof options.payload === 'string'
      ? options.payload
      : Buffer.isBuffer(options.payload)
        ? options.payload.toString('latin1')
        : '';
  if (response.statusCode >= 500) {
    const known = knownIssueFor(
      { method: String(options.method), url: options.url, body },
      { status: response.statusCode, body: response.body },
    );
    if (known) f.tally.known(describeDefect(known));
    else f.tally.violation(`${label}: ${response.statusCode} → ${response.body.slice(0, 200)}`);
    return response;
  }
  if (response.statusCode >= 400 && (await writeCounter(db)) !== writes) {
    const changed = changedTables(before, await snapshot(db)).filter(
      (table) => !MAY_CHANGE_WHEN_REJECTED[mode].includes(table),
    );
    f.tally.check(
      changed.length === 0,
      `${label}: rejected with ${response.statusCode} yet changed ${changed.join(', ')}`,
    );
  }
  return response;
}

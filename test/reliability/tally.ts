import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** What one suite did, as the run's table counts it. */
export interface TallyRecord {
  suite: string;
  requests: number;
  instances: number;
  faults: number;
  badInputs: number;
  /** Every broken promise, one sentence each. */
  violations: string[];
  /** Defects known and reported (see known-issues.ts): shown, never counted as passing silently. */
  known: string[];
  /** Measurements worth reading next to the counts (propagation delays, leaks observed, …). */
  notes: string[];
}

/**
 * The counters of one suite. Drivers count what they really did; checks call `check`, which records a
 * violation instead of throwing, so one run reports every broken promise and not just the first.
 */
export class Tally {
  readonly record: TallyRecord;

  constructor(suite: string) {
    this.record = { suite, requests: 0, instances: 0, faults: 0, badInputs: 0, violations: [], known: [], notes: [] };
  }

  request(n = 1): void {
    this.record.requests += n;
  }

  instance(n = 1): void {
    this.record.instances += n;
  }

  fault(n = 1): void {
    this.record.faults += n;
  }

  badInput(n = 1): void {
    this.record.badInputs += n;
  }

  /** Records a violation unless `ok`; returns `ok`. */
  check(ok: boolean, what: string): boolean {
    if (!ok) this.violation(what);
    return ok;
  }

  violation(what: string): void {
    // A broken invariant repeated a thousand times is one finding with a count, not a thousand lines.
    if (this.record.violations.length < 200) this.record.violations.push(what);
    else this.record.violations[199] = `${this.record.violations.length}+ violations (list cut)`;
  }

  known(what: string): void {
    if (!this.record.known.includes(what)) this.record.known.push(what);
  }

  note(what: string): void {
    this.record.notes.push(what);
  }

  /** Violations recorded since `mark` (a length taken earlier): what one test must assert empty. */
  since(mark: number): string[] {
    return this.record.violations.slice(mark);
  }

  get mark(): number {
    return this.record.violations.length;
  }

  save(dir: string): void {
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `${this.record.suite.replace(/[^\w.-]+/g, '_')}-${process.pid}.json`);
    writeFileSync(file, JSON.stringify(this.record, null, 2));
  }
}

export function loadTallies(dir: string): TallyRecord[] {
  let files: string[];
  try {
    files = readdirSync(dir).filter((f) => f.endsWith('.json'));
  } catch {
    return [];
  }
  return files.sort().map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as TallyRecord);
}

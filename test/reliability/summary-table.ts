import type { TallyRecord } from './tally.ts';

const COLUMNS = [
  'suite',
  'requests driven',
  'instances',
  'faults injected',
  'bad inputs tried',
  'invariant violations',
  'known defects',
] as const;

function row(cells: Array<string | number>): string {
  return `| ${cells.join(' | ')} |`;
}

/** The run's table: one line per suite and the totals, then every violation, known defect and note. */
export function summaryTable(records: TallyRecord[]): string {
  const total = records.reduce(
    (sum, r) => ({
      requests: sum.requests + r.requests,
      instances: sum.instances + r.instances,
      faults: sum.faults + r.faults,
      badInputs: sum.badInputs + r.badInputs,
      violations: sum.violations + r.violations.length,
    }),
    { requests: 0, instances: 0, faults: 0, badInputs: 0, violations: 0 },
  );
  const lines = [
    '',
    '== Reliability run',
    row([...COLUMNS]),
    row(COLUMNS.map(() => '---')),
    ...records.map((r) =>
      row([r.suite, r.requests, r.instances, r.faults, r.badInputs, r.violations.length, r.known.length]),
    ),
    row([
      '**total**',
      total.requests,
      total.instances,
      total.faults,
      total.badInputs,
      total.violations,
      new Set(records.flatMap((r) => r.known)).size,
    ]),
  ];
  const violations = records.flatMap((r) => r.violations.map((v) => `  - [${r.suite}] ${v}`));
  if (violations.length > 0) lines.push('', 'Invariant violations:', ...violations);
  // The same defect seen by several suites is listed once, with the suites that saw it.
  const known = new Map<string, string[]>();
  for (const r of records) for (const k of r.known) known.set(k, [...(known.get(k) ?? []), r.suite]);
  if (known.size > 0) {
    lines.push(
      '',
      `Known defects (${known.size}; reproduced, not counted as violations; fixes outside this suite, see test/reliability/known-issues.ts):`,
    );
    for (const [text, suites] of known) lines.push(`  - ${text} [seen by: ${suites.join(', ')}]`);
  }
  const notes = records.flatMap((r) => r.notes.map((n) => `  - [${r.suite}] ${n}`));
  if (notes.length > 0) lines.push('', 'Measured:', ...notes);
  lines.push(
    '',
    total.violations === 0 ? 'Result: 0 invariant violations.' : `Result: ${total.violations} invariant violation(s).`,
    '',
  );
  return lines.join('\n');
}

export function totalViolations(records: TallyRecord[]): number {
  return records.reduce((n, r) => n + r.violations.length, 0);
}

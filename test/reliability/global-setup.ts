import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { summaryTable, totalViolations } from './summary-table.ts';
import { loadTallies } from './tally.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Where each suite saves its Tally for the table printed at the end. */
    tallyDir: string;
  }
}

/** Hands every suite a folder for its counters; at the end prints the table and fails on any violation. */
export default function setup(project: TestProject): () => void {
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-reliability-'));
  project.provide('tallyDir', dir);
  return () => {
    const records = loadTallies(dir);
    rmSync(dir, { recursive: true, force: true });
    console.log(summaryTable(records));
    // Every violation also fails its test; this keeps the exit code honest even if a suite forgot to assert.
    if (totalViolations(records) > 0) process.exitCode = 1;
  };
}

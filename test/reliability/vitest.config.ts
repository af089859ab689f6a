import { defineConfig } from 'vitest/config';

/**
 * `npm run test:reliability`: its own suites (`*.rel.ts`, which the default `npm test` never picks up),
 * one file at a time (a cluster of three Tollgate processes needs the two cores to itself), and a
 * global teardown that prints the run's table from the counters every suite saved.
 */
export default defineConfig({
  test: {
    include: ['test/reliability/**/*.rel.ts'],
    globalSetup: ['test/required-services.ts', 'test/reliability/global-setup.ts'],
    fileParallelism: false,
    testTimeout: 180_000,
    hookTimeout: 120_000,
    pool: 'forks',
    reporters: ['default'],
  },
});

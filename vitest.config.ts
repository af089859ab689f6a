import { configDefaults, defineConfig } from 'vitest/config';

const UNIT = 'test/**/*.unit.test.ts';

/**
 * Two tiers, both run by `npm test`: `unit` (the pure rules, no HTTP, no database, no services:
 * `npm run test:unit` runs it alone in seconds) and `integration` (everything else, on every
 * configured backend).
 */
export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    reporters: ['default'],
    projects: [
      { extends: true, test: { name: 'unit', include: [UNIT] } },
      {
        extends: true,
        test: { name: 'integration', include: ['test/**/*.test.ts'], exclude: [...configDefaults.exclude, UNIT] },
      },
    ],
  },
});

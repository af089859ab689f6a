import react from '@vitejs/plugin-react';
import { configDefaults, defineConfig } from 'vitest/config';

const UNIT = 'test/**/*.unit.test.ts';

/**
 * Three tiers, all run by `npm test`: `unit` (the pure rules, no HTTP, no database, no services:
 * `npm run test:unit` runs it alone in seconds) and `integration` (everything else, on every
 * configured backend), and `web` (the console's widgets in jsdom).
 */
export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    reporters: ['default'],
    globalSetup: ['test/required-services.ts'],
    projects: [
      { extends: true, test: { name: 'unit', include: [UNIT] } },
      {
        // The web console's widgets (web/**/*.test.tsx) in jsdom, with the console's own `@/` imports.
        extends: true,
        plugins: [react()],
        resolve: { alias: { '@/': new URL('./web/src/', import.meta.url).pathname } },
        test: {
          name: 'web',
          environment: 'jsdom',
          include: ['web/**/*.test.tsx'],
          setupFiles: ['web/src/test-setup.ts'],
        },
      },
      {
        extends: true,
        test: { name: 'integration', include: ['test/**/*.test.ts'], exclude: [...configDefaults.exclude, UNIT] },
      },
    ],
  },
});

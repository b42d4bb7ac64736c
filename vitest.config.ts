import { defineConfig } from 'vitest/config';

/** Workspace packages from their TypeScript sources (package.json exports `taskfleet-source`), not their built dist/. */
const resolve = { conditions: ['taskfleet-source', 'module', 'node', 'development|production'] };
const ssr = { resolve: { conditions: resolve.conditions, externalConditions: ['taskfleet-source'] } };

export default defineConfig({
  test: {
    reporters: ['default'],
    projects: [
      {
        resolve,
        ssr,
        test: {
          name: 'unit',
          include: [
            'packages/*/src/**/*.test.ts',
            'apps/*/src/**/*.test.ts',
            'scripts/**/*.test.ts',
            'test-support/**/*.test.ts',
            'test/**/*.unit.test.ts',
          ],
          setupFiles: ['test-support/leak-check.ts'],
        },
      },
      {
        resolve,
        ssr,
        test: {
          name: 'integration',
          include: ['packages/*/test/**/*.test.ts', 'apps/*/test/**/*.test.ts', 'test/**/*.test.ts'],
          exclude: ['**/*.unit.test.ts', '**/node_modules/**'],
          globalSetup: ['test-support/global-setup.ts'],
          setupFiles: ['test-support/leak-check.ts'],
          testTimeout: 30_000,
          hookTimeout: 60_000,
          // 2 cores: two test files at a time, each with its own database.
          maxWorkers: 2,
        },
      },
    ],
  },
});

import { defineConfig } from 'vitest/config';

// Two projects: pure unit tests (no services), and integration/end-to-end tests (*.int.test.ts) that
// run against the real local stack, which the global setup brings up once (or reuses) and stops after.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/**/*.test.ts'],
          exclude: ['test/**/*.int.test.ts', 'node_modules/**'],
          testTimeout: 20_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/**/*.int.test.ts'],
          globalSetup: ['test/support/stackSetup.ts'],
          // One file at a time: the stack shares 2 cores with the tests.
          fileParallelism: false,
          testTimeout: 180_000,
          hookTimeout: 600_000,
        },
      },
    ],
  },
});

import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: {
    // Tests import 'sluice', 'sluice/testing' and 'sluice/dashboard' as users do; here they resolve to the
    // source. Exact matches: a plain 'sluice' alias would also rewrite the subpaths.
    alias: [
      { find: /^sluice\/testing$/, replacement: fileURLToPath(new URL('./src/testing/index.ts', import.meta.url)) },
      { find: /^sluice\/dashboard$/, replacement: fileURLToPath(new URL('./src/dashboard/index.ts', import.meta.url)) },
      { find: /^sluice$/, replacement: fileURLToPath(new URL('./src/index.ts', import.meta.url)) },
    ],
  },
  test: {
    include: ['test/**/*.test.ts'],
    setupFiles: ['test/harness/setup.ts'],
    // Each test file starts its own redis-server; forks keep killed child processes and signals apart.
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // 2 cores: two files at a time, each with its own Redis, keeps CPU contention (and flakiness) down.
    maxWorkers: 2,
  },
});

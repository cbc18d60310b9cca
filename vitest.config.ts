import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: {
    // Tests import 'sluice' as users do; here it resolves to the source.
    alias: [
      { find: /^sluice\/testing$/, replacement: fileURLToPath(new URL('./src/testing/index.ts', import.meta.url)) },
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

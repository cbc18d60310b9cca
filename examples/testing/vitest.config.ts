// For the vitest example alone. In an app, 'sluice' and 'sluice/testing' resolve from node_modules and no
// alias is needed; in this repository they are the source.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: {
    alias: [
      { find: /^sluice\/testing$/, replacement: fileURLToPath(new URL('../../src/testing/index.ts', import.meta.url)) },
      { find: /^sluice$/, replacement: fileURLToPath(new URL('../../src/index.ts', import.meta.url)) },
    ],
  },
  test: { include: ['examples/testing/*.vitest.test.ts'], root: fileURLToPath(new URL('../..', import.meta.url)) },
});

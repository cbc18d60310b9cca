import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll } from 'vitest';
import { startRedis, type TestRedis } from './redis-server.js';

export type { TestRedis, SpawnedRedis } from './redis-server.js';
export { spawnRedis, freePort } from './redis-server.js';

// Each test file gets a Redis of its own: startRedis (src/testing/redis-server.ts) says which. Tests that
// kill or restart Redis need a spawned one: call spawnRedis() directly.

/** In a test file: one Redis for the whole file, started before its tests, stopped after. */
export function useRedis(): { readonly url: string; readonly connection: { url: string } } {
  let redis: TestRedis | undefined;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis?.stop();
  });
  return {
    get url() {
      if (redis === undefined) throw new Error('useRedis: Redis is not started yet (use it inside tests or hooks)');
      return redis.url;
    },
    get connection() {
      return { url: this.url };
    },
  };
}

/** A queue name no other test uses, even on a shared REDIS_URL. */
export function uniqueQueue(label: string): string {
  return `${label}-${randomUUID().slice(0, 8)}`;
}

import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll } from 'vitest';
import { hasRedisServer, noRedisMessage, spawnRedis, type TestRedis } from './redis-server.js';

export type { TestRedis, SpawnedRedis } from './redis-server.js';
export { spawnRedis, freePort } from './redis-server.js';

/**
 * Gives each test file a Redis of its own, in this order:
 *  1. REDIS_URL, when set (tests then share it; every test uses its own queue names);
 *  2. a redis-server from PATH, spawned on a free loopback port with a temp dir, killed afterwards;
 *  3. a Redis container through testcontainers, when a Docker engine answers;
 *  4. otherwise an error saying how to get one.
 * Tests that kill or restart Redis need a spawned one: call spawnRedis() directly.
 */
async function dockerRedis(): Promise<TestRedis | undefined> {
  try {
    const { GenericContainer } = await import('testcontainers');
    const container = await new GenericContainer('redis:7-alpine').withExposedPorts(6379).start();
    return {
      url: `redis://${container.getHost()}:${container.getMappedPort(6379)}`,
      kind: 'container',
      stop: async () => {
        await container.stop();
      },
    };
  } catch {
    return undefined;
  }
}


export async function startRedis(): Promise<TestRedis> {
  const url = process.env.REDIS_URL;
  if (url !== undefined && url !== '') return { url, kind: 'url', stop: async () => undefined };
  // With persistence, as sluice asks of a real Redis: no redisConfig warning in every test file.
  if (hasRedisServer()) return spawnRedis(['--appendonly', 'yes', '--appendfsync', 'no']);
  const container = await dockerRedis();
  if (container !== undefined) return container;
  throw new Error(`${noRedisMessage()}, or start a Docker engine for testcontainers`);
}

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

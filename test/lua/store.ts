import { Redis } from 'ioredis';
import { encode } from '../../src/serializer.js';
import { queueKeys } from '../../src/keys.js';
import { QueueStore, type AddInput } from '../../src/redis/store.js';
import { normalizeJobOptions } from '../../src/options.js';
import { afterEach, beforeEach } from 'vitest';
import { uniqueQueue } from '../harness/redis.js';

/** A store on a fresh queue of 3 levels, for driving the scripts directly. */
export async function openStore(url: string, eventsMaxLen = 100): Promise<{ store: QueueStore; client: Redis; close: () => Promise<void> }> {
  const client = new Redis(url);
  const store = new QueueStore(client, queueKeys(uniqueQueue('lua'), 'sluice', 3), eventsMaxLen);
  await store.init(3);
  return { store, client, close: async () => void (await client.quit()) };
}

export function input(overrides: Partial<AddInput> = {}): AddInput {
  return {
    jobId: '',
    name: 'job',
    data: encode({ n: 1 }, 'job data', 1024),
    opts: encode(normalizeJobOptions(undefined, {}, 3).stored, 'job options', 1024),
    prio: 1,
    delay: -1,
    runAt: -1,
    group: '',
    ...overrides,
  };
}

/** In a Lua-script test file: a fresh store (its own queue and connection) for every test. */
export function useStore(redis: { readonly url: string }): { readonly store: QueueStore; readonly client: Redis } {
  let opened: { store: QueueStore; client: Redis; close: () => Promise<void> } | undefined;
  beforeEach(async () => {
    opened = await openStore(redis.url);
  });
  afterEach(async () => {
    await opened?.close();
  });
  const current = (): { store: QueueStore; client: Redis } => {
    if (opened === undefined) throw new Error('useStore: use the store inside a test');
    return opened;
  };
  return {
    get store() {
      return current().store;
    },
    get client() {
      return current().client;
    },
  };
}

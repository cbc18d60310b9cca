import type { QueueKeys } from '../keys.js';
import type { RedisClient } from './connection.js';
import { throwRedisFailure } from './failures.js';

/**
 * The queue registry: one set per prefix (keys.ts registryKey) naming every queue a Queue, Worker or
 * Scheduler has initialised, so the dashboard finds queues it was never told about. One SADD per init
 * (never on the hot path: a Worker inits once, and again only after an obliterate), one SREM per obliterate.
 *
 * The set is outside every queue's hash tag, so no script can write it: the SADD follows init's script as a
 * command of its own. A queue created before the registry existed is listed from its next init on (any
 * process of it starting).
 */

/**
 * Records the queue. An ACL that confines a user to its queues' keys (`~sluice:{emails}:*`) refuses the
 * SADD with NOPERM: the queue still works, and is only missing from the dashboard's list.
 */
export async function registerQueue(client: RedisClient, keys: QueueKeys): Promise<void> {
  try {
    await client.sadd(keys.registry, keys.name);
  } catch (error) {
    if (error instanceof Error && error.message.startsWith('NOPERM')) return;
    throwRedisFailure(error);
  }
}

export async function unregisterQueue(client: RedisClient, keys: QueueKeys): Promise<void> {
  try {
    await client.srem(keys.registry, keys.name);
  } catch (error) {
    if (error instanceof Error && error.message.startsWith('NOPERM')) return;
    throwRedisFailure(error);
  }
}

/** Every registered queue of the prefix whose registry key is `registry`, sorted by name. */
export async function registeredQueues(client: RedisClient, registry: string): Promise<string[]> {
  const names = await client.smembers(registry).catch(throwRedisFailure);
  return names.sort();
}

/** The priority levels a queue was created with (its meta hash), or undefined when it does not exist. */
export async function recordedLevels(client: RedisClient, keys: QueueKeys): Promise<number | undefined> {
  const levels = await client.hget(keys.meta, 'levels').catch(throwRedisFailure);
  if (levels === null) return undefined;
  const parsed = Number(levels);
  return Number.isInteger(parsed) && parsed > 0 ? parsed : undefined;
}

/** The partition count a queue recorded in its (partition 0's) meta: 1 when it has none, undefined when there is no queue. */
export async function recordedPartitions(client: RedisClient, keys: QueueKeys): Promise<number | undefined> {
  const [levels, parts] = await client.hmget(keys.meta, 'levels', 'parts').catch(throwRedisFailure);
  if (levels === null) return undefined;
  const parsed = Number(parts ?? '1');
  return Number.isInteger(parsed) && parsed > 0 ? parsed : 1;
}

import { ValidationError } from '../errors.js';
import type { QueueKeys } from '../keys.js';
import type { RedisClient } from '../redis/connection.js';
import { QueueStore } from '../redis/store.js';
import type { QueueMetrics } from '../states.js';
import { sumMetrics } from './queue-partitions.js';

/**
 * The worker side of a partitioned queue. A Worker with `partitions` > 1 runs the claim loop of the first
 * partition it consumes itself and makes one Worker per other partition it consumes (its siblings, made
 * through innerOptions): each has the partition's keys, its own blocking connection (a blocked connection
 * serves nothing else, and the partitions are on different slots, so one XREAD cannot wait on two), its
 * own Settler, leases and stalled sweep, and shares the outer Worker's command connection, concurrency
 * slots (src/worker/slots.ts) and events. An idle worker is thus blocked on every partition at once and
 * wakes on whichever gets a job; a busy one claims from the partitions in turn as slots free.
 */

/** The partitions a Worker consumes: `given` checked, or all `count` of them. */
export function consumedPartitions(given: unknown, count: number): number[] {
  if (given === undefined) return Array.from({ length: count }, (_, index) => index);
  if (!Array.isArray(given) || given.length === 0) {
    throw new ValidationError(`consumePartitions takes a non-empty array of partition indexes (0 to ${count - 1})`);
  }
  const seen = new Set<number>();
  for (const index of given as unknown[]) {
    if (typeof index !== 'number' || !Number.isInteger(index) || index < 0 || index >= count) {
      throw new ValidationError(`consumePartitions: ${String(index)} is not a partition of this queue; it has ${count} (0 to ${count - 1})`);
    }
    if (seen.has(index)) throw new ValidationError(`consumePartitions names partition ${index} twice`);
    seen.add(index);
  }
  return [...seen];
}

/** Every partition's metrics as one queue's, for a Worker's queueMetrics option: one script call per partition. */
export function partitionedMetrics(client: RedisClient, keys: readonly QueueKeys[], eventsMaxLen: number): () => Promise<QueueMetrics> {
  const stores = keys.map((partition) => new QueueStore(client, partition, eventsMaxLen));
  return async () => sumMetrics(await Promise.all(stores.map((store) => store.getMetrics())));
}

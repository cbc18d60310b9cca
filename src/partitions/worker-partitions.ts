import { ValidationError } from '../errors.js';
import { queueKeys } from '../keys.js';
import type { QueueSettings } from '../queue-settings.js';
import type { RedisClient } from '../redis/connection.js';
import { QueueStore } from '../redis/store.js';
import type { QueueMetrics } from '../states.js';
import { innerPartition, type InnerPartition } from './inner.js';
import { sumMetrics } from './queue-partitions.js';
import { ShareStore } from '../redis/share-store.js';
import { ShareMover } from './shares.js';

/**
 * The worker side of a partitioned queue. A Worker with `partitions` > 1 runs the claim loop of the first
 * partition it consumes itself and makes one Worker per other partition it consumes (its siblings, made
 * through innerOptions): each has the partition's keys, its own blocking connection (a blocked connection
 * serves nothing else, and the partitions are on different slots, so one XREAD cannot wait on two), its
 * own Settler, leases and stalled sweep, and shares the outer Worker's command connection, concurrency
 * slots (src/worker/slots.ts) and events. An idle worker is thus blocked on every partition at once and
 * wakes on whichever gets a job; a busy one claims from the partitions in turn as slots free.
 *
 * The siblings also share the outer Worker's claim gate (src/worker/claim-gate.ts), so worker.pause(),
 * resume() and the concurrency setter act on every loop at once, and its consumer name: in each partition's
 * consumer group and worker registry the Worker has the same name, so job.processedBy is `worker.consumer`
 * whatever the partition, and queue.getWorkers() lists the Worker once (each partition's heartbeat says
 * what the whole Worker runs; QueuePartitions.getWorkers merges them by name). use() and close() go to
 * every sibling; the siblings' events are emitted by the outer Worker.
 */

/** The partitions a Worker's own loop and its siblings consume. */
export interface WorkerPartitions {
  /** Set when a partitioned Worker made this one: its partition and what it shares. */
  readonly inner: InnerPartition | undefined;
  /** The queue's partition count (1 unpartitioned). */
  readonly count: number;
  /** The partition this Worker's own loop consumes: the first of `consumed`. */
  readonly index: number;
  /** Every partition this Worker consumes, its siblings' after its own. */
  readonly consumed: readonly number[];
}

export function workerPartitions(options: { consumePartitions?: readonly number[] }, partitions: number): WorkerPartitions {
  const inner = innerPartition(options);
  const count = inner?.count ?? partitions;
  const consumed = inner === undefined ? consumedPartitions(options.consumePartitions, count) : [inner.index];
  return { inner, count, index: consumed[0] ?? 0, consumed };
}

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

/**
 * What a Worker's queueMetrics option reads: its own store's metrics, or with partitions every partition's
 * as one queue's (one script call per partition).
 */
export function queueDepth(name: string, settings: QueueSettings, count: number, own: QueueStore): () => Promise<QueueMetrics> {
  if (count === 1) return () => own.getMetrics();
  const client: RedisClient = own.client;
  const stores = Array.from({ length: count }, (_, p) => new QueueStore(client, queueKeys(name, settings.prefix, settings.levels, { index: p, count }), settings.eventsMaxLen));
  return async () => sumMetrics(await Promise.all(stores.map((store) => store.getMetrics())));
}

/**
 * The rebalancer of a partitioned Worker's queue (shares.ts): made by the outer Worker only, over every
 * partition of the queue (not only those it consumes: the Worker holding the turn moves shares for all), run
 * every heartbeat interval. undefined for an unpartitioned Worker, which pays nothing for it.
 */
export function shareMover(
  name: string,
  settings: QueueSettings,
  count: number,
  client: RedisClient,
  consumer: string,
  intervalMs: number,
  onError: (error: Error) => void,
): ShareMover | undefined {
  if (count === 1) return undefined;
  const parts = Array.from({ length: count }, (_, p) => {
    const keys = queueKeys(name, settings.prefix, settings.levels, { index: p, count });
    return { shares: new ShareStore(client, keys), queue: new QueueStore(client, keys, settings.eventsMaxLen) };
  });
  return new ShareMover(parts, consumer, intervalMs, onError);
}

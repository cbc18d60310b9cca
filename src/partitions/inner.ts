import type { RedisClient } from '../redis/connection.js';
import type { EventEmitter } from 'node:events';
import type { Reachability } from '../redis/reachability.js';
import type { ClaimGate } from '../worker/claim-gate.js';
import type { Presence } from '../worker/heartbeat.js';

/**
 * How a partitioned Queue or Worker makes the Queue or Worker of one of its partitions: with the options it
 * was given plus this, attached to the options object (a WeakMap, so no option a user could pass means it).
 * The inner one then builds the partition's keys and shares the outer one's command connection instead of
 * opening its own.
 */
export interface InnerPartition {
  readonly index: number;
  readonly count: number;
  /** The outer one's command connection (the inner one never closes it). */
  readonly client: RedisClient;
  /** A Queue's: the outer Queue's bounded wait for that connection. */
  readonly reachability?: Reachability;
  /** The Redis config check, run once for every partition (the outer one's, through `once`). */
  readonly checkConfig?: () => Promise<void>;
  /** A Worker's: the outer Worker's claim gate (its pause and its one pool of concurrency slots). */
  readonly gate?: ClaimGate;
  /** A Worker's: the outer Worker, which emits the inner one's events. */
  readonly events?: EventEmitter;
  /** A Worker's: the outer Worker's consumer name, so a job's processedBy names the Worker whatever its partition. */
  readonly consumer?: string;
  /** A Worker's: what the outer Worker says of itself at each heartbeat (the whole Worker's running jobs). */
  readonly presence?: () => Presence;
}

/** `run` once while it succeeds; a failed run is tried again by the next call. */
export function once(run: () => Promise<void>): () => Promise<void> {
  let done: Promise<void> | undefined;
  return () => {
    if (done === undefined) {
      const attempt = run();
      done = attempt;
      attempt.catch(() => {
        if (done === attempt) done = undefined;
      });
    }
    return done;
  };
}

const inner = new WeakMap<object, InnerPartition>();

/** A copy of `options` that makes the Queue or Worker of one partition. */
export function innerOptions<O extends object>(options: O, partition: InnerPartition): O {
  const copy = { ...options };
  inner.set(copy, partition);
  return copy;
}

/** The partition these options make, when a partitioned Queue or Worker made them. */
export function innerPartition(options: object): InnerPartition | undefined {
  return inner.get(options);
}

import type { RedisClient } from './connection.js';
import { throwRedisFailure } from './failures.js';
import type { ShareRead } from './replies.js';
import { runScript } from './scripts.js';
import type { StatusCode } from './status.js';
import type { QueueKeys } from '../keys.js';

/** The limit whose shares move: the queue-wide concurrency, or the max of a sliding-window rate limit. */
export type ShareKind = 'concurrency' | 'rate';

/** What set-share writes on one partition (lua/set-share.lua). */
export interface ShareWrite {
  readonly kind: ShareKind;
  /** The queue-wide total; 0 removes the limit and its pool. */
  readonly total: number;
  readonly epoch: number;
  readonly share: number;
  /** A rate limit's window (ms); 0 for a concurrency. */
  readonly duration: number;
  /** A smooth rate limit's burst share (> 0: written as given, without a pool); -1 otherwise. */
  readonly burst: number;
  /** The epoch a repair read on this partition; undefined for a set. */
  readonly expect?: number;
}

/**
 * The verbs of a partitioned queue's limit shares on one partition (src/partitions/shares.ts): one script per
 * step. Kept apart from QueueStore, whose verbs are the hot path's: none of these is on it, and an
 * unpartitioned queue never calls them.
 */
export class ShareStore {
  constructor(
    readonly client: RedisClient,
    readonly keys: QueueKeys,
  ) {}

  /** A new pool epoch, from partition 0's meta (call it on partition 0's store). */
  async nextEpoch(): Promise<number> {
    return this.client.hincrby(this.keys.meta, 'poolseq', 1).catch(throwRedisFailure);
  }

  set(write: ShareWrite): Promise<{ status: StatusCode; share: number; used: number }> {
    return runScript(
      this.client,
      'set-share',
      { meta: this.keys.meta, ctl: this.keys.ctl, rate: this.keys.rate },
      {
        kind: write.kind,
        total: write.total,
        epoch: write.epoch,
        share: write.share,
        duration: write.duration,
        burst: write.burst,
        expect: write.expect === undefined ? '' : write.expect,
      },
    );
  }

  lower(kind: ShareKind, by: number, epoch: number): Promise<{ status: StatusCode; share: number; used: number }> {
    return runScript(this.client, 'lower-share', { meta: this.keys.meta, rate: this.keys.rate }, { kind, by, epoch });
  }

  raise(kind: ShareKind, by: number, epoch: number): Promise<{ status: StatusCode; share: number }> {
    return runScript(this.client, 'raise-share', { meta: this.keys.meta, ctl: this.keys.ctl }, { kind, by, epoch });
  }

  read(): Promise<{ concurrency: ShareRead; rate: ShareRead & { duration: number }; waited: boolean }> {
    return runScript(this.client, 'get-shares', { meta: this.keys.meta, rate: this.keys.rate }, {});
  }

  /** Whether `consumer` holds the turn to move shares for `ttlMs` more (partition 0's store); ttl 0 gives it back. */
  async takeTurn(consumer: string, ttlMs: number): Promise<boolean> {
    return (await runScript(this.client, 'rebalance-turn', { turn: this.keys.sharesTurn }, { consumer, ttl: ttlMs })) === 1;
  }
}

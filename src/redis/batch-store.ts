import type { QueueKeys } from '../keys.js';
import type { RedisClient } from './connection.js';
import { throwRedisFailure } from './failures.js';
import { lengthPrefixed } from './packed.js';
import type { BatchAddReply } from './replies.js';
import { runScript } from './scripts.js';
import type { AddInput } from './store.js';

/**
 * The verbs of batches (lua/batch-add.lua, the batch's hash) and the one rule that finds a member's batch
 * in its stored options. Kept beside QueueStore, as ScheduleStore is: only src/batches.ts calls these.
 */

/** A member as batch-add takes it: an add's input without a jobId (members' ids are generated). */
export type MemberInput = Omit<AddInput, 'jobId'>;

/** A callback job as the batch stores it until it fires; `data` is a msgpack map (or empty). */
export interface CallbackInput {
  name: string;
  data: Buffer;
  opts: Buffer;
  prio: number;
  group: string;
}

/** What opening a batch stores besides its counters. */
export interface OpenInput {
  /** Seconds the batch's hash is kept once nothing is pending. */
  keep: number;
  onComplete: CallbackInput | undefined;
  onSuccess: CallbackInput | undefined;
}

/** A batch's hash as read, counters exact as of one read (lua/includes/batches.lua names the fields). */
export interface StoredBatch {
  total: number;
  /** Members not settled yet (the open batch's extra 1 in `pending` taken out). */
  pending: number;
  failed: number;
  sealed: boolean;
  createdAt: number;
  sealedAt: number | undefined;
  doneAt: number | undefined;
  keep: number;
  onComplete: StoredCallback | undefined;
  onSuccess: StoredCallback | undefined;
}

export interface StoredCallback {
  name: string;
  /** The callback job's id once it was enqueued. */
  jobId: string | undefined;
}

const FIELDS = ['total', 'pending', 'failed', 'ts', 'sealed', 'done', 'keep', 'onComplete', 'onCompleteJob', 'onSuccess', 'onSuccessJob'] as const;

/**
 * A member's batch id from its stored options, or '' for a job outside a batch: lua/includes/batches.lua
 * batchOf reads the same bytes by the same rule. batch-add puts `batch` first in the options map, so it sits
 * at a fixed place (a fixmap header, fixstr 'batch', the id as a fixstr or str8) and nothing is decoded: a
 * job with default options (zero bytes) costs one length check, one with options three byte compares.
 */
export function memberBatch(opts: Buffer): string {
  if (opts.length < 9) return '';
  const map = opts[0] as number;
  if (map < 0x81 || map > 0x8f || opts[1] !== 0xa5 || opts[2] !== 0x62 || opts.toString('latin1', 2, 7) !== 'batch') return '';
  const header = opts[7] as number;
  let length = 0;
  let from = 8;
  if (header > 0xa0 && header <= 0xbf) length = header - 0xa0;
  else if (header === 0xd9) {
    length = opts[8] ?? 0;
    from = 9;
  }
  if (length === 0 || opts.length < from + length) return '';
  return opts.toString('utf8', from, from + length);
}

/** A callback as batch-add and batches.lua read it: name data opts prio grp, length-prefixed. */
function packCallback(callback: CallbackInput | undefined): Buffer | string {
  if (callback === undefined) return '';
  return lengthPrefixed([callback.name, callback.data, callback.opts, String(callback.prio), callback.group]);
}

export class BatchStore {
  constructor(
    readonly client: RedisClient,
    readonly keys: QueueKeys,
    private readonly eventsMaxLen: number,
  ) {}

  /**
   * One batch-add call: with `open`, creates batch `batch` ('' = a generated id) first; adds `members`
   * (at most 200, the caller's chunk); with `seal`, seals it after them. `spentMs` as add takes it.
   */
  add(batch: string, members: readonly MemberInput[], options: { open?: OpenInput; seal: boolean }, spentMs: number): Promise<BatchAddReply> {
    const { id, meta, delayed, events, ctl, groups, streams } = this.keys;
    const open = options.open;
    return runScript(
      this.client,
      'batch-add',
      { id, meta, delayed, events, ctl, groups, streams },
      {
        base: this.keys.base,
        eventsMaxLen: this.eventsMaxLen,
        spent: spentMs,
        count: members.length,
        batch,
        open: open === undefined ? 0 : 1,
        seal: options.seal ? 1 : 0,
        keep: open?.keep ?? 0,
        onComplete: packCallback(open?.onComplete),
        onSuccess: packCallback(open?.onSuccess),
      },
      members.map((m) => ({ name: m.name, data: m.data, opts: m.opts, prio: m.prio, delay: m.delay, runAt: m.runAt, group: m.group })),
    );
  }

  /** The batch's hash in one read, or null when there is none (never opened, expired, obliterated). */
  async get(batch: string): Promise<StoredBatch | null> {
    const values = await this.client.hmgetBuffer(this.keys.batch(batch), ...FIELDS).catch(throwRedisFailure);
    const field = (name: (typeof FIELDS)[number]): Buffer | null => values[FIELDS.indexOf(name)] ?? null;
    const count = (name: (typeof FIELDS)[number]): number | undefined => {
      const value = field(name);
      return value === null ? undefined : Number(value.toString());
    };
    const total = count('total');
    if (total === undefined) return null;
    const sealedAt = count('sealed');
    const pending = (count('pending') ?? 0) - (sealedAt === undefined ? 1 : 0);
    return {
      total,
      pending,
      failed: count('failed') ?? 0,
      sealed: sealedAt !== undefined,
      createdAt: count('ts') ?? 0,
      sealedAt,
      doneAt: count('done'),
      keep: count('keep') ?? 0,
      onComplete: callback(field('onComplete'), field('onCompleteJob')),
      onSuccess: callback(field('onSuccess'), field('onSuccessJob')),
    };
  }
}

/** A stored callback's name (its first length-prefixed part) and its job id once fired. */
function callback(spec: Buffer | null, jobId: Buffer | null): StoredCallback | undefined {
  if (spec === null || spec.length < 4) return undefined;
  const length = spec.readUInt32BE(0);
  return { name: spec.toString('utf8', 4, 4 + length), jobId: jobId === null ? undefined : jobId.toString() };
}

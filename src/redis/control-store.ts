import type { RedisClient } from './connection.js';
import { throwRedisFailure } from './failures.js';
import type { ControlReply } from './replies.js';
import { runScript } from './scripts.js';
import { GROUP, type AddInput, type QueueStore } from './store.js';
import type { StatusCode } from './status.js';
import type { QueueKeys } from '../keys.js';
import type { StoredJob } from './job-fields.js';
import type { DedupeOptions } from '../dedupe.js';

/**
 * The verbs of job control: adds under a dedupe key, changing one job after it was added, cancelling one,
 * draining a queue's waiting and delayed jobs, and the two reads a worker's cancel watch makes. One script per change (lua/add-deduped.lua,
 * update-data, change-priority, change-delay, promote-job, cancel). Kept apart from QueueStore, whose verbs
 * are the hot path's: none of these is on it.
 */
export class ControlStore {
  constructor(
    readonly client: RedisClient,
    readonly keys: QueueKeys,
    private readonly eventsMaxLen: number,
  ) {}

  /** The control verbs of a queue's store, made once per store. */
  static of(store: QueueStore): ControlStore {
    let control = made.get(store);
    if (control === undefined) {
      control = new ControlStore(store.client, store.keys, store.eventsMaxLen);
      made.set(store, control);
    }
    return control;
  }

  private get base(): string {
    return this.keys.base;
  }

  /** `spentMs`: time since the add() call (lua/add.lua's `spent`). */
  addDeduped(input: AddInput, dedupe: DedupeOptions, spentMs: number): Promise<{ status: StatusCode; id: string; job: StoredJob | null }> {
    const { id, meta, delayed, completed, events, ctl, dedupe: locks, dedupeWindows: windows, groups, streams } = this.keys;
    return runScript(
      this.client,
      'add-deduped',
      { id, meta, delayed, completed, events, ctl, locks, windows, groups, streams },
      {
        base: this.base,
        group: GROUP,
        eventsMaxLen: this.eventsMaxLen,
        spent: Math.max(0, Math.floor(spentMs)),
        key: dedupe.key,
        ttl: dedupe.ttl ?? 0,
        debounce: dedupe.debounce === true ? 1 : 0,
        jobId: input.jobId,
        name: input.name,
        data: input.data,
        opts: input.opts,
        prio: input.prio,
        delay: input.delay,
        runAt: input.runAt,
        jobGroup: input.group,
        labels: input.labels ?? '',
      },
    );
  }

  updateData(jobId: string, data: Buffer): Promise<ControlReply> {
    const { id, events, streams } = this.keys;
    return runScript(this.client, 'update-data', { id, events, streams }, { base: this.base, group: GROUP, id: jobId, data, eventsMaxLen: this.eventsMaxLen });
  }

  changePriority(jobId: string, priority: number): Promise<ControlReply> {
    const { id, events, streams } = this.keys;
    return runScript(this.client, 'change-priority', { id, events, streams }, { base: this.base, group: GROUP, id: jobId, priority, eventsMaxLen: this.eventsMaxLen });
  }

  /** `delayMs` from now on Redis' clock, or -1 and `runAt` (ms since epoch). */
  changeDelay(jobId: string, delayMs: number, runAt: number): Promise<ControlReply> {
    const { id, meta, delayed, events, ctl, groups, streams } = this.keys;
    return runScript(
      this.client,
      'change-delay',
      { id, meta, delayed, events, ctl, groups, streams },
      { base: this.base, group: GROUP, id: jobId, delay: delayMs, runAt, eventsMaxLen: this.eventsMaxLen },
    );
  }

  promote(jobId: string): Promise<ControlReply> {
    const { id, meta, delayed, events, ctl, groups, streams } = this.keys;
    return runScript(this.client, 'promote-job', { id, meta, delayed, events, ctl, groups, streams }, { base: this.base, group: GROUP, id: jobId, eventsMaxLen: this.eventsMaxLen });
  }

  /** Removes up to `limit` waiting and delayed jobs (lua/drain.lua); resolves how many. */
  drain(limit: number): Promise<number> {
    const { meta, delayed, events, groups, streams } = this.keys;
    return runScript(this.client, 'drain', { meta, delayed, events, groups, streams }, { base: this.base, group: GROUP, limit, eventsMaxLen: this.eventsMaxLen });
  }

  cancel(jobId: string, reason: string): Promise<ControlReply> {
    const { meta, delayed, failed, events, ctl, groups, streams } = this.keys;
    return runScript(
      this.client,
      'cancel',
      { meta, delayed, failed, events, ctl, groups, streams },
      { base: this.base, group: GROUP, id: jobId, reason, eventsMaxLen: this.eventsMaxLen },
    );
  }

  /** How many running jobs were cancelled in the queue's life (meta `cancels`): a worker's cancel watch compares it. */
  async cancelCount(): Promise<number> {
    return Number((await this.client.hget(this.keys.meta, 'cancels').catch(throwRedisFailure)) ?? 0);
  }

  /** Of `jobIds`, the ones a person cancelled (their hash is marked `cxl`), with their failedReason. */
  async cancelled(jobIds: readonly string[]): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    if (jobIds.length === 0) return out;
    const pipeline = this.client.pipeline();
    for (const jobId of jobIds) pipeline.hmget(this.keys.job(jobId), 'cxl', 'err');
    const replies = (await pipeline.exec().catch(throwRedisFailure)) ?? [];
    replies.forEach(([error, fields], i) => {
      const [mark, reason] = (error === null ? fields : [null, null]) as [string | null, string | null];
      if (mark !== null) out.set(jobIds[i] as string, reason ?? 'cancelled');
    });
    return out;
  }
}

const made = new WeakMap<QueueStore, ControlStore>();

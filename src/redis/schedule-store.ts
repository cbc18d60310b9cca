import { createHash } from 'node:crypto';
import type { QueueKeys } from '../keys.js';
import type { RedisClient } from './connection.js';
import { recordedLevels } from './registry.js';
import { runScript } from './scripts.js';
import { Status, type StatusCode } from './status.js';

/**
 * The verbs of time-driven work, one per script: recurring schedules (upsert, remove, list, the runner's
 * read and fire) and the Scheduler's promotion of due delayed jobs. Kept beside QueueStore rather than in
 * it: the runner and the Scheduler need these and nothing else of a queue's job verbs.
 */

/** A schedule as stored: its encoded definition, next run (-1: ended) and runs so far. */
export interface StoredSchedule {
  id: string;
  definition: Buffer;
  next: number;
  runs: number;
}

/** One of the soonest schedules; `definition` is set only when it is due. */
export interface SoonSchedule {
  id: string;
  next: number;
  definition: Buffer | null;
}

export interface FireInput {
  scheduleId: string;
  /** The definition the tick was planned from: fire refuses if the stored one differs. */
  definition: Buffer;
  /** The next run read from Redis: the compare-and-set's expected value. */
  expected: number;
  /** The run after this one, or -1: the schedule ends. */
  next: number;
  limit: number;
  /** '' to move on without a job. */
  jobId: string;
  name: string;
  data: Buffer;
  opts: Buffer;
  prio: number;
  group: string;
}

export class ScheduleStore {
  constructor(
    readonly client: RedisClient,
    readonly keys: QueueKeys,
    private readonly eventsMaxLen: number,
  ) {}

  private get own(): { schedules: string; scheduleNext: string; scheduleRuns: string } {
    return { schedules: this.keys.schedules, scheduleNext: this.keys.scheduleNext, scheduleRuns: this.keys.scheduleRuns };
  }

  /** Stores a definition with its first run; an identical definition changes nothing and keeps its next run. */
  async upsert(id: string, definition: Buffer, next: number, limit: number): Promise<{ changed: boolean; next: number }> {
    const stored = await runScript(this.client, 'upsert-schedule', this.own, { scheduleId: id, definition, next, limit });
    return { changed: stored.status === Status.OK, next: stored.next };
  }

  async remove(id: string): Promise<boolean> {
    return (await runScript(this.client, 'remove-schedule', this.own, { scheduleId: id })) === 1;
  }

  /** Redis' clock now (ms), and the `limit` soonest schedules with the definitions of the due ones. */
  soonest(limit: number): Promise<{ now: number; schedules: SoonSchedule[] }> {
    return runScript(this.client, 'due-schedules', { scheduleNext: this.keys.scheduleNext, schedules: this.keys.schedules }, { limit });
  }

  /** Redis' clock (ms), read on the server that holds the queue. */
  async now(): Promise<number> {
    return (await this.soonest(0)).now;
  }

  fire(input: FireInput): Promise<{ status: StatusCode; next: number }> {
    const { definition, ...rest } = input;
    return runScript(
      this.client,
      'fire-schedule',
      { ...this.own, id: this.keys.id, meta: this.keys.meta, events: this.keys.events, ctl: this.keys.ctl, groups: this.keys.groups, streams: this.keys.streams },
      { base: this.keys.base, eventsMaxLen: this.eventsMaxLen, defSha: createHash('sha1').update(definition).digest('hex'), ...rest },
    );
  }

  /** The stored definition of schedule `id`, or null when there is none. */
  definition(id: string): Promise<Buffer | null> {
    return this.client.hgetBuffer(this.keys.schedules, id);
  }

  /** Enqueues the job of `definition`, schedule `scheduleId`'s stored one, now (lua/run-schedule.lua). */
  runNow(scheduleId: string, definition: Buffer, job: Omit<FireInput, 'scheduleId' | 'definition' | 'expected' | 'next' | 'limit' | 'jobId'>): Promise<{ status: StatusCode; jobId: string }> {
    return runScript(
      this.client,
      'run-schedule',
      { schedules: this.keys.schedules, id: this.keys.id, meta: this.keys.meta, events: this.keys.events, ctl: this.keys.ctl, groups: this.keys.groups, streams: this.keys.streams },
      { base: this.keys.base, eventsMaxLen: this.eventsMaxLen, scheduleId, defSha: createHash('sha1').update(definition).digest('hex'), ...job },
    );
  }

  /** Every schedule. Three plain reads: a schedule changed in between may show its old next run once. */
  async list(): Promise<StoredSchedule[]> {
    const [definitions, next, runs] = await Promise.all([
      this.client.hgetallBuffer(this.keys.schedules),
      this.client.zrange(this.keys.scheduleNext, '0', '-1', 'WITHSCORES'),
      this.client.hgetall(this.keys.scheduleRuns),
    ]);
    const nextById = new Map<string, number>();
    for (let i = 0; i + 1 < next.length; i += 2) nextById.set(next[i] as string, Number(next[i + 1]));
    return Object.entries(definitions)
      .map(([id, definition]) => ({ id, definition, next: nextById.get(id) ?? -1, runs: Number(runs[id] ?? 0) }))
      .sort((a, b) => a.id.localeCompare(b.id));
  }

  /**
   * Moves up to `limit` due delayed jobs to waiting (failing for good any whose hash cannot be used);
   * 'needs-init' after an obliterate.
   */
  promote(limit: number): Promise<{ promoted: number; nextDueMs: number } | 'needs-init'> {
    const { id, meta, delayed, failed, events, ctl, groups, streams } = this.keys;
    return runScript(
      this.client,
      'promote-delayed',
      { id, meta, delayed, failed, events, ctl, groups, streams },
      { base: this.keys.base, limit, eventsMaxLen: this.eventsMaxLen },
    );
  }

  /** The priority levels recorded for the queue, or undefined when it was never initialised. */
  recordedLevels(): Promise<number | undefined> {
    return recordedLevels(this.client, this.keys);
  }
}


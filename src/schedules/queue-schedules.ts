import type { DefaultJobOptions } from '../options.js';
import type { QueueAccess } from '../queue-access.js';
import { decodeDefinition, describeJob, describeSpec, prepareSchedule, type ScheduleInfo, type ScheduleJob, type ScheduleSpec } from './definition.js';
import { runScheduleNow } from './run-now.js';
import { firstTick } from './ticks.js';

/**
 * The schedule operations of one unpartitioned Queue (upsert, list, remove, run now). Queue validates the id
 * and hands a partitioned queue's calls to its partitions before it calls these.
 */

/** What upsertSchedule validates a schedule's job against: the Queue's job defaults and limits. */
export interface ScheduleDefaults {
  readonly defaults: DefaultJobOptions;
  readonly levels: number;
  readonly maxPayloadBytes: number;
}

export async function upsertSchedule<Data>(
  q: QueueAccess,
  given: ScheduleDefaults,
  id: string,
  spec: ScheduleSpec,
  job: ScheduleJob<Data>,
): Promise<{ next: Date | null; changed: boolean }> {
  const { definition, encoded } = prepareSchedule(id, spec, job, given.defaults, given.levels, given.maxPayloadBytes);
  await q.init();
  const schedules = q.schedules();
  const first = firstTick(definition.timing, await schedules.now());
  const stored = await schedules.upsert(id, encoded, first ?? -1, definition.timing.limit);
  return { next: stored.next < 0 ? null : new Date(stored.next), changed: stored.changed };
}

export async function getSchedules<Data>(q: QueueAccess): Promise<ScheduleInfo<Data>[]> {
  await q.inspect();
  return (await q.schedules().list()).map((stored) => {
    const definition = decodeDefinition(stored.definition, stored.id);
    return {
      id: stored.id,
      spec: describeSpec(definition.timing),
      job: describeJob<Data>(definition),
      next: stored.next < 0 ? null : new Date(stored.next),
      runs: stored.runs,
    };
  });
}

export async function removeSchedule(q: QueueAccess, id: string): Promise<boolean> {
  await q.inspect();
  return q.schedules().remove(id);
}

export async function runSchedule(q: QueueAccess, id: string): Promise<string | null> {
  // Like removeSchedule, it creates no queue: a queue that does not exist has no schedule to run.
  if (!(await q.inspect())) return null;
  return runScheduleNow(q.schedules(), id);
}

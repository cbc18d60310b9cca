import { ValidationError } from '../errors.js';
import type { ScheduleStore } from '../redis/schedule-store.js';
import { Status } from '../redis/status.js';
import { decodeDefinition } from './definition.js';

/**
 * Reads changed schedules again this often before giving up: a definition changes only when an upsert
 * brings a different one, so a second read finds it settled unless upserts of two definitions race.
 */
const TRIES = 3;

/**
 * Enqueues schedule `id`'s job now (lua/run-schedule.lua), from its stored definition: the job id is
 * `<id>:now:<ms>`, and the schedule's next run and run count stay as they are. Resolves with the job's id,
 * or null when there is no such schedule.
 */
export async function runScheduleNow(store: ScheduleStore, id: string): Promise<string | null> {
  for (let attempt = 0; attempt < TRIES; attempt++) {
    const stored = await store.definition(id);
    if (stored === null) return null;
    const { name, data, opts, prio, group } = decodeDefinition(stored, id);
    const { status, jobId } = await store.runNow(id, stored, { name, data, opts, prio, group });
    if (status !== Status.STALE) return jobId;
  }
  throw new ValidationError(`schedule '${id}' changed ${TRIES} times while it was being run now (upserts of different definitions racing?); nothing was enqueued, try again`);
}

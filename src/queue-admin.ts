import type { BulkOptions } from './bulk-progress.js';
import { JobActiveError } from './errors.js';
import type { QueueAccess } from './queue-access.js';
import { ControlStore } from './redis/control-store.js';
import { Status } from './redis/status.js';

/**
 * Operators' bulk operations on one unpartitioned queue (the dashboard, the CLI): retry, clean, promote,
 * drain and obliterate, each in steps of STEP jobs. Queue validates the arguments and hands a partitioned
 * queue's calls to its partitions before it calls these.
 */

/** Jobs per obliterate / retryJobs step: one call stays near a millisecond of Redis time, as ADD_CHUNK (adder.ts). */
const STEP = 1000;

/** Queue.retryJobs: sends the `state` jobs back to waiting, bounded by the set's size at the call. */
export async function retryJobs(q: QueueAccess, state: 'failed' | 'completed', options: BulkOptions): Promise<number> {
  await q.init();
  const present = (await q.store.getCounts())[state];
  let seen = 0;
  let total = 0;
  let skip = 0;
  while (seen < present) {
    const { looked, revived, stayed } = await q.store.retryJobs(state, Math.min(STEP, present - seen), skip);
    seen += looked;
    total += revived;
    // Jobs whose stored fields cannot be used stay at the front of the set: later calls pass over them.
    skip += stayed;
    options.onProgress?.({ done: seen, total: present });
    if (looked === 0) break;
  }
  return total;
}

/** Queue.obliterate: deletes every key of the queue, STEP jobs per script call. */
export async function obliterate(q: QueueAccess, force: boolean): Promise<void> {
  for (;;) {
    const step = await q.store.obliterate(force, STEP);
    if (step === Status.JOB_ACTIVE) {
      throw new JobActiveError(`queue '${q.name}' has running jobs; wait for them, or pass { force: true }`);
    }
    if (step === 0) break;
  }
  await q.store.unregister();
}

/** Queue.clean: deletes the `state` jobs finished more than `olderThanMs` ago; resolves how many. */
export async function clean(q: QueueAccess, state: 'completed' | 'failed', olderThanMs: number, options: BulkOptions): Promise<number> {
  if (!(await q.inspect())) return 0;
  const before = (await q.store.time()) - olderThanMs;
  const total = options.onProgress === undefined ? 0 : await q.store.countFinishedBefore(state, before);
  let removed = 0;
  // Ids a step could not delete (retried and running meanwhile) stay in the set: later steps pass over them.
  let skip = 0;
  for (;;) {
    const ids = await q.store.finishedBefore(state, before, skip, STEP);
    const statuses = await Promise.all(ids.map((id) => q.store.removeJob(id)));
    const gone = statuses.filter((status) => status === Status.OK).length;
    removed += gone;
    skip += ids.length - gone;
    options.onProgress?.({ done: removed + skip, total });
    if (ids.length < STEP) break;
  }
  return removed;
}

/** Queue.drain: removes the jobs waiting and delayed at the call; resolves how many. */
export async function drain(q: QueueAccess): Promise<number> {
  if (!(await q.inspect())) return 0;
  const counts = await q.store.getCounts();
  const present = counts.waiting + counts.paused + counts.delayed;
  const control = ControlStore.of(q.store);
  let total = 0;
  while (total < present) {
    const removed = await control.drain(STEP);
    total += removed;
    if (removed < STEP) break;
  }
  return total;
}

/** Queue.promoteJobs: moves the jobs delayed at the call to waiting, soonest due first; resolves how many. */
export async function promoteJobs(q: QueueAccess, options: BulkOptions): Promise<number> {
  if (!(await q.inspect())) return 0;
  const present = (await q.store.getCounts()).delayed;
  let total = 0;
  while (total < present) {
    const ids = await q.store.soonestDelayed(Math.min(STEP, present - total));
    if (ids.length === 0) break;
    const step = await q.schedules().promote(await q.store.makeDue(ids));
    if (step === 'needs-init' || step.promoted === 0) break;
    total += step.promoted;
    options.onProgress?.({ done: total, total: present });
  }
  return total;
}

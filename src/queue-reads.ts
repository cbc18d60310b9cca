import { DecodeError } from './errors.js';
import { findJobs as find, type JobFilter } from './job-finder.js';
import { Job } from './job.js';
import type { LabelUse } from './labels.js';
import type { QueueAccess } from './queue-access.js';
import { readHistory } from './redis/history.js';
import type { StoredJob } from './redis/job-fields.js';
import { LabelStore } from './redis/label-store.js';
import { readWorkers, withProcessedBy } from './redis/worker-registry.js';
import type { Counts, JobState, MinuteCounts, QueueMetrics } from './states.js';
import type { WorkerInfo } from './worker/heartbeat.js';

/**
 * The reads of one unpartitioned queue: jobs, counts, metrics, workers, labels. None creates the queue (each
 * goes through QueueAccess.inspect). Queue validates the arguments and hands a partitioned queue's calls to
 * its partitions before it calls these.
 */

export async function getJob<Data, Result>(q: QueueAccess, id: string): Promise<Job<Data, Result> | undefined> {
  await q.inspect();
  const [stored] = await withProcessedBy(q.store.client, q.store.keys, [await q.store.getJob(id)]);
  return stored === null || stored === undefined ? undefined : Job.fromStored<Data, Result>(q.owner, stored);
}

export async function getJobs<Data, Result>(q: QueueAccess, state: JobState, start: number, end: number): Promise<Job<Data, Result>[]> {
  await q.inspect();
  return jobsOf<Data, Result>(q, await q.store.getJobs(state, start, end));
}

export async function findJobs<Data, Result>(q: QueueAccess, state: JobState, filter: JobFilter): Promise<{ jobs: Job<Data, Result>[]; looked: number; complete: boolean }> {
  if (!(await q.inspect())) return { jobs: [], looked: 0, complete: true };
  const found = await find(q.store, state, filter);
  return { jobs: await jobsOf<Data, Result>(q, found.jobs), looked: found.looked, complete: found.complete };
}

export async function getLabels(q: QueueAccess, limit: number): Promise<LabelUse[]> {
  if (!(await q.inspect())) return [];
  return LabelStore.of(q.store).labels(limit);
}

/** Jobs built from what a read returned (with who processed them); one that cannot be read is left out with a warning naming it. */
async function jobsOf<Data, Result>(q: QueueAccess, stored: readonly StoredJob[]): Promise<Job<Data, Result>[]> {
  const jobs: Job<Data, Result>[] = [];
  for (const one of await withProcessedBy(q.store.client, q.store.keys, [...stored])) {
    try {
      jobs.push(Job.fromStored<Data, Result>(q.owner, one));
    } catch (error) {
      if (!(error instanceof DecodeError)) throw error;
      process.emitWarning(`sluice queue '${q.name}': ${error.message}`, { code: error.code });
    }
  }
  return jobs;
}

export async function getCounts(q: QueueAccess): Promise<Counts> {
  await q.inspect();
  return q.store.getCounts();
}

export async function getMetrics(q: QueueAccess): Promise<QueueMetrics> {
  await q.inspect();
  return q.store.getMetrics();
}

export async function getWorkers(q: QueueAccess): Promise<WorkerInfo[]> {
  if (!(await q.inspect())) return [];
  return readWorkers(q.store.client, q.store.keys, 1000);
}

export async function getMetricsHistory(q: QueueAccess, minutes: number): Promise<MinuteCounts[]> {
  await q.inspect();
  return readHistory(q.store.client, q.store.keys, minutes);
}

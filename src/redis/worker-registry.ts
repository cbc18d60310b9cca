import type { QueueKeys } from '../keys.js';
import { readWorker, type WorkerInfo } from '../worker/heartbeat.js';
import type { RedisClient } from './connection.js';
import { throwRedisFailure } from './failures.js';
import type { StoredJob } from './job-fields.js';
import { runScript } from './scripts.js';
import { GROUP } from './store.js';

/**
 * Who runs what: the queue's worker registry (written by extend-leases at every heartbeat, read by
 * get-workers) and the consumer that holds an active job's delivery (job.processedBy), read from the
 * stream's pending entries list, where Redis keeps it anyway: nothing is written per job for it.
 */

/** The workers alive, at most `limit`, by host, then pid. */
export async function readWorkers(client: RedisClient, keys: QueueKeys, limit: number): Promise<WorkerInfo[]> {
  const { entries } = await runScript(client, 'get-workers', { workers: keys.workers, workerInfo: keys.workerInfo }, { limit });
  const workers: WorkerInfo[] = [];
  for (const { id, deadline, info } of entries) {
    const worker = readWorker(id, deadline, info);
    if (worker !== undefined) workers.push(worker);
  }
  return workers.sort((a, b) => (a.host < b.host ? -1 : a.host > b.host ? 1 : a.pid - b.pid || (a.id < b.id ? -1 : 1)));
}

/**
 * Fills in processedBy of the active jobs among `jobs`: one XPENDING of its entry each, sent together. A
 * job whose delivery ended meanwhile keeps none.
 */
export async function withProcessedBy<J extends StoredJob | null>(client: RedisClient, keys: QueueKeys, jobs: J[]): Promise<J[]> {
  const active = jobs.filter((job): job is J & StoredJob => job !== null && job.state === 'active' && job.entry !== undefined && job.stream !== undefined);
  if (active.length === 0) return jobs;
  const owners = await Promise.all(
    active.map((job) => client.xpending(keys.streams[job.stream as number] as string, GROUP, job.entry as string, job.entry as string, 1)),
  ).catch(throwRedisFailure);
  active.forEach((job, i) => {
    // [[entry, consumer, idle ms, deliveries]], or [] when the entry is no longer pending.
    const consumer = (owners[i] as unknown[][] | undefined)?.[0]?.[1];
    if (typeof consumer === 'string') job.processedBy = consumer;
  });
  return jobs;
}

/**
 * A batch of a million records with a completion callback (seeds/003: 1M records x 10 ms of work across
 * pods), on a redis-server of its own:
 *
 *   npm run bench:batch                                   1,000,000 members x 10 ms, 4 worker processes x 100
 *   npm run bench:batch -- --jobs 20000 --job-ms 0 --memory-jobs 20000      a quick check
 *   npm run bench:batch -- --jobs 0 --memory-jobs 100000                     the memory part alone
 *
 * 1. Memory: `--memory-jobs` plain jobs (addBulk) in one queue and as many members of an open batch in
 *    another, the same data; Redis' used_memory after each, so a member's cost over a plain job is their
 *    difference, and MEMORY USAGE of the batch's hash (0 skips this part).
 * 2. The run: a batch opened with an onComplete callback, its members added from one producer in pages of
 *    `--page` (as a job reading a table page by page would), sealed; then `--workers` worker processes run
 *    them. Reported: adding (members/s, Redis commands and CPU per member), processing (jobs/s, Redis
 *    commands and CPU per job), the time from the first worker's start to the callback, and whether the
 *    callback ran exactly once with the totals.
 *
 * Pinned with taskset when there is one: redis-server on CPU 0, this process and its workers on CPU 1
 * (bench/environment.ts). Writes bench/results/batch-<date>.json.
 */
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { Queue } from 'sluice';
import { runTs, type Child } from '../test/harness/child.js';
import { spawnRedis } from '../test/harness/redis-server.js';
import { loadAverage, machineAndLoad, pinProcesses } from './environment.js';
import { diff, redisVersion, takeSnapshot, type RedisDelta } from './redis-stats.js';
import { stamp, writeResultsFile } from './results-file.js';
import { round } from './stats.js';

const { values } = parseArgs({
  options: {
    jobs: { type: 'string', default: '1000000' },
    'job-ms': { type: 'string', default: '10' },
    workers: { type: 'string', default: '4' },
    concurrency: { type: 'string', default: '100' },
    page: { type: 'string', default: '10000' },
    'memory-jobs': { type: 'string', default: '100000' },
  },
  strict: true,
});
const count = (name: keyof typeof values): number => {
  const n = Number(values[name]);
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`--${name} takes an integer >= 0, got '${String(values[name])}'`);
  return n;
};
const jobs = count('jobs');
const jobMs = count('job-ms');
const workers = count('workers');
const concurrency = count('concurrency');
const page = Math.max(1, count('page'));
const memoryJobs = count('memory-jobs');
/** A record's id, as the seed's accounts have one: the data of every job here. */
const record = (i: number): { account: string } => ({ account: `acc-${String(i).padStart(8, '0')}` });

const redis = await spawnRedis();
const pinning = pinProcesses(redis);
const client = new Redis(redis.url);
const connection = { url: redis.url };
const date = new Date().toISOString();
const started = machineAndLoad();

/** Adds `n` members to `batch` in pages of `page` (addBulk each). */
async function addPages(add: (jobs: { name: string; data: { account: string } }[]) => Promise<unknown>, n: number): Promise<void> {
  for (let from = 0; from < n; from += page) {
    await add(Array.from({ length: Math.min(page, n - from) }, (_, i) => ({ name: 'member', data: record(from + i) })));
  }
}

async function usedMemory(): Promise<number> {
  return (await takeSnapshot(client)).usedMemory;
}

async function memoryPart(): Promise<Record<string, number> | null> {
  if (memoryJobs === 0) return null;
  await client.flushall();
  const plain = new Queue<{ account: string }>('plain', { connection });
  const batched = new Queue<{ account: string }>('batched', { connection });
  // Both queues exist before the first measure: their set-up keys are not a job's cost.
  await plain.addBulk([]);
  await batched.addBulk([]);
  const before = await usedMemory();
  await addPages((page) => plain.addBulk(page), memoryJobs);
  const afterPlain = await usedMemory();
  // A user's id of a realistic length (14 bytes): it is stored in every member's options.
  const batch = await batched.openBatch({ id: 'payout-2026-12', onComplete: { name: 'report', data: { month: '2026-12' } } });
  // Measured after the open: the batch's own cost is its hash (MEMORY USAGE below), not what the first
  // call of a script leaves in Redis' Lua heap.
  const afterOpen = await usedMemory();
  await addPages((page) => batch.addBulk(page), memoryJobs);
  const afterBatch = await usedMemory();
  const hash = Number(await client.call('MEMORY', 'USAGE', batched.store.keys.batch(batch.id)));
  await plain.close();
  await batched.close();
  await client.flushall();
  const perPlain = (afterPlain - before) / memoryJobs;
  const perMember = (afterBatch - afterOpen) / memoryJobs;
  return {
    jobs: memoryJobs,
    bytesPerPlainJob: round(perPlain, 1),
    bytesPerMember: round(perMember, 1),
    bytesPerMemberOverPlain: round(perMember - perPlain, 1),
    batchHashBytes: hash,
  };
}

function perJob(delta: RedisDelta, n: number): { commands: number; redisCpuMicros: number; byCommand: Record<string, number> } {
  const byCommand: Record<string, number> = {};
  for (const c of delta.byCommand.slice(0, 12)) byCommand[c.command] = round(c.calls / n, 4);
  return { commands: round(delta.commands / n, 3), redisCpuMicros: round(delta.cpuMicros / n, 2), byCommand };
}

async function runPart(): Promise<Record<string, unknown>> {
  await client.flushall();
  const queue = new Queue<{ account: string }>('batch-bench', { connection });
  await queue.addBulk([]);
  const beforeAdd = await takeSnapshot(client);
  const addStart = performance.now();
  const batch = await queue.openBatch({ id: 'interest-2026-12', onComplete: { name: 'report', data: { month: '2026-12' } } });
  await addPages((page) => batch.addBulk(page), jobs);
  await batch.seal();
  const addMs = performance.now() - addStart;
  const afterAdd = await takeSnapshot(client);
  const added = diff(beforeAdd, afterAdd);

  const env = { REDIS_URL: redis.url, QUEUE: 'batch-bench', JOB_MS: String(jobMs), CONCURRENCY: String(concurrency) };
  const children: Child[] = Array.from({ length: workers }, () => runTs('bench/batch-worker.ts', [], env));
  const callbacks = (): string[] => children.flatMap((c) => c.lines.filter((line) => line.startsWith('callback ')));
  // Timed from the first worker that is up, so the workers' module loading is not counted.
  while (!children.some((c) => c.lines.includes('ready'))) await new Promise((resolve) => setTimeout(resolve, 20));
  const runStart = Date.now();
  const beforeRun = await takeSnapshot(client);
  while (callbacks().length === 0) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    const exited = children.find((c) => c.process.exitCode !== null);
    if (exited !== undefined) throw new Error(`a worker exited: ${exited.stderr}`);
  }
  const afterRun = await takeSnapshot(client);
  const [, at = '0', ...json] = (callbacks()[0] ?? '').split(' ');
  const callbackMs = Number(at) - runStart;
  // Whatever would enqueue the callback twice has had its chance once every worker has gone idle.
  await new Promise((resolve) => setTimeout(resolve, 1000));
  for (const child of children) child.process.kill('SIGTERM');
  await Promise.all(children.map((c) => c.exited));
  const status = await queue.getBatch(batch.id);
  await queue.close();
  const processed = diff(beforeRun, afterRun);
  return {
    adding: { ms: Math.round(addMs), membersPerSecond: Math.round(jobs / (addMs / 1000)), perMember: perJob(added, jobs), usedMemoryPerMember: round(added.usedMemory / jobs, 1) },
    processing: { callbackAfterMs: callbackMs, jobsPerSecond: Math.round(jobs / (callbackMs / 1000)), perJob: perJob(processed, jobs) },
    callback: { runs: callbacks().length, data: JSON.parse(json.join(' ')) as unknown },
    status,
  };
}

try {
  const memory = await memoryPart();
  const run = jobs === 0 ? null : await runPart();
  const results = {
    benchmark: 'batch',
    date,
    options: { jobs, jobMs, workers, concurrency, page, memoryJobs },
    machine: { ...started, loadAverage: { ...started.loadAverage, end: loadAverage() } },
    redis: await redisVersion(client),
    pinning: pinning.note,
    memory,
    run,
  };
  console.log(JSON.stringify(results, null, 2));
  console.log(`written to ${writeResultsFile(`batch-${stamp(date)}.json`, results)}`);
} finally {
  await client.quit();
  await redis.stop();
}

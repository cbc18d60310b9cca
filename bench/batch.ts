/**
 * A batch of a million records with a completion callback (seeds/003: 1M records x 10 ms of work across
 * pods), on a redis-server of its own:
 *
 *   npm run bench:batch                                   1,000,000 members x 10 ms, 4 worker processes x 100
 *   npm run bench:batch -- --jobs 20000 --job-ms 0 --memory-jobs 20000      a quick check
 *   npm run bench:batch -- --jobs 0 --memory-jobs 100000                     the memory part alone
 *   npm run bench:batch -- --kill-every 0                                    no worker killed
 *
 * 1. Memory: `--memory-jobs` plain jobs (addBulk) in one queue and as many members of an open batch in
 *    another, the same data; Redis' used_memory after each, so a member's cost over a plain job is their
 *    difference, and MEMORY USAGE of the batch's hash (0 skips this part).
 * 2. The run: a batch opened with an onComplete callback, its members added from one producer in pages of
 *    `--page` (as a job reading a table page by page would), sealed; then `--workers` worker processes run
 *    them. Every `--kill-every` seconds (0: never) one worker process, picked at random, is SIGKILLed and a
 *    new one started, as the fault test (test/fault/batch-crash.test.ts) does at 100,000: its deliveries
 *    come back through another worker's stalled sweep after `--stalled-timeout` ms. Reported: adding
 *    (members/s, Redis commands and CPU per member), processing (jobs/s, Redis commands and CPU per job),
 *    the kills, the time from the first worker's start to the callback, whether the callback ran exactly
 *    once with the totals, and the checks: completed + failed = total, the queue's lifetime counts are the
 *    members plus the callback (each member settled once), and the entries ever added to the queue's
 *    streams are the members, the callback and the deliveries the sweep took back (each delivery beyond a
 *    member's first is one of those). A failed check sets the exit code to 1.
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
    'kill-every': { type: 'string', default: '5' },
    'stalled-timeout': { type: 'string', default: '5000' },
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
const killEveryMs = count('kill-every') * 1000;
// 5 s instead of the Worker's 30 s: a killed worker's deliveries come back within a run of about a minute.
const stalledTimeout = count('stalled-timeout');
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

async function runPart() {
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

  const env = { REDIS_URL: redis.url, QUEUE: 'batch-bench', JOB_MS: String(jobMs), CONCURRENCY: String(concurrency), STALLED_TIMEOUT: String(stalledTimeout) };
  const children: Child[] = [];
  const live: Child[] = [];
  const start = (): void => {
    const child = runTs('bench/batch-worker.ts', [], env);
    children.push(child);
    live.push(child);
  };
  for (let i = 0; i < workers; i++) start();
  const callbacks = (): string[] => children.flatMap((c) => c.lines.filter((line) => line.startsWith('callback ')));
  // Timed from the first worker that is up, so the workers' module loading is not counted.
  while (!children.some((c) => c.lines.includes('ready'))) await new Promise((resolve) => setTimeout(resolve, 20));
  const runStart = Date.now();
  const beforeRun = await takeSnapshot(client);
  const kills: { atMs: number; pending: number }[] = [];
  let nextKill = runStart + killEveryMs;
  while (callbacks().length === 0) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    const exited = live.find((c) => c.process.exitCode !== null);
    if (exited !== undefined) throw new Error(`a worker exited: ${exited.stderr}`);
    if (killEveryMs === 0 || Date.now() < nextKill) continue;
    nextKill += killEveryMs;
    const pending = (await queue.getBatch(batch.id))?.pending ?? 0;
    const ready = live.filter((c) => c.lines.includes('ready'));
    // As the fault test: in the middle of the run, while the others that are up can carry it (a
    // replacement takes seconds to load), and not for the last 5% (those would only wait for the sweep).
    if (pending <= jobs / 20 || ready.length < Math.max(1, workers - 1)) continue;
    const victim = ready[Math.floor(Math.random() * ready.length)] as Child;
    live.splice(live.indexOf(victim), 1);
    victim.process.kill('SIGKILL');
    if ((await victim.exited) !== 'SIGKILL') throw new Error(`a worker sent SIGKILL exited otherwise: ${victim.stderr}`);
    kills.push({ atMs: Date.now() - runStart, pending });
    start();
  }
  const afterRun = await takeSnapshot(client);
  const [, at = '0', ...json] = (callbacks()[0] ?? '').split(' ');
  const callbackMs = Number(at) - runStart;
  // Whatever would enqueue the callback twice has had its chance once every worker has gone idle and, after
  // kills, a sweep has run (every stalledTimeout / 2).
  await new Promise((resolve) => setTimeout(resolve, kills.length === 0 ? 1000 : stalledTimeout + 1000));
  for (const child of live) child.process.kill(child.lines.includes('ready') ? 'SIGTERM' : 'SIGKILL');
  await Promise.all(live.map((c) => c.exited));
  const status = await queue.getBatch(batch.id);
  const metrics = await queue.getMetrics();
  let entriesAdded = 0;
  for (const stream of queue.store.keys.streams) {
    if ((await client.exists(stream)) === 0) continue;
    const info = (await client.call('XINFO', 'STREAM', stream)) as unknown[];
    entriesAdded += Number(info[info.indexOf('entries-added') + 1]);
  }
  await queue.close();
  const processed = diff(beforeRun, afterRun);
  const completed = status?.completed ?? -1;
  const failed = status?.failed ?? -1;
  const runs = callbacks().length;
  // Entries beyond the members and the callback: each one a delivery the sweep took back and requeued.
  const requeued = entriesAdded - jobs - runs;
  const checks = {
    callbackOnce: runs === 1 && status?.onComplete?.fired === true,
    totals: status?.pending === 0 && completed + failed === jobs,
    settledOnce: metrics.completedTotal === completed + runs && metrics.failedTotal === failed,
    deliveries: requeued >= 0,
  };
  return {
    adding: { ms: Math.round(addMs), membersPerSecond: Math.round(jobs / (addMs / 1000)), perMember: perJob(added, jobs), usedMemoryPerMember: round(added.usedMemory / jobs, 1) },
    processing: { callbackAfterMs: callbackMs, jobsPerSecond: Math.round(jobs / (callbackMs / 1000)), perJob: perJob(processed, jobs) },
    faults: { killEveryMs, stalledTimeout, kills: kills.length, killedAt: kills, workerProcesses: children.length, requeuedDeliveries: requeued },
    callback: { runs, data: JSON.parse(json.join(' ')) as unknown },
    status,
    lifetime: { completedTotal: metrics.completedTotal, failedTotal: metrics.failedTotal, streamEntriesAdded: entriesAdded },
    checks,
  };
}

try {
  const memory = await memoryPart();
  const run = jobs === 0 ? null : await runPart();
  const results = {
    benchmark: 'batch',
    date,
    options: { jobs, jobMs, workers, concurrency, page, memoryJobs, killEverySeconds: killEveryMs / 1000, stalledTimeout },
    machine: { ...started, loadAverage: { ...started.loadAverage, end: loadAverage() } },
    redis: await redisVersion(client),
    pinning: pinning.note,
    memory,
    run,
  };
  console.log(JSON.stringify(results, null, 2));
  console.log(`written to ${writeResultsFile(`batch-${stamp(date)}.json`, results)}`);
  const failedChecks = Object.entries(run?.checks ?? {}).filter(([, ok]) => !ok);
  if (failedChecks.length > 0) {
    console.error(`checks failed: ${failedChecks.map(([name]) => name).join(', ')}`);
    process.exitCode = 1;
  }
} finally {
  await client.quit();
  await redis.stop();
}

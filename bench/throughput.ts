/**
 * Throughput benchmark: how fast sluice adds and processes jobs on one Redis, and what each job costs
 * Redis (commands executed, server CPU). Handlers are no-ops and payloads tiny, so the figures are
 * sluice's own overhead, not a workload's.
 *
 *   npm run bench                                    N = 100,000 jobs (scenario b uses N / 10)
 *   npx tsx bench/throughput.ts --quick              N = 10,000: a smoke run
 *   npx tsx bench/throughput.ts --jobs 50000         N as given (wins over --quick)
 *   REDIS_URL=redis://host:6379 npm run bench        that Redis instead of a spawned one
 *
 * Scenarios, each on a fresh queue of a freshly flushed Redis:
 *   a. add           addBulk 1,000 jobs at a time, one call after another
 *   b. process c1    N / 10 jobs added first, then one worker at concurrency 1
 *   c. process c64   N jobs added first, then one worker at concurrency 64
 *   d. add+process   a worker at concurrency 64 runs while the N jobs are added
 * Commands and Redis CPU per job are measured for every scenario (window: the timed part only).
 *
 * Writes bench/results/throughput-<ISO date>.json.
 */
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { closeOpenHandles, Queue, Worker, type BulkJob, type Counts, type Job } from 'sluice';
import { quit } from '../src/redis/connection.js';
import { spawnRedis, type SpawnedRedis } from '../test/harness/redis-server.js';
import { gitState, machineAndLoad, packageVersion, pinProcesses, type GitState, type MachineAndLoad, type Pinning } from './environment.js';
import { diff, redisVersion, takeSnapshot, type RedisDelta } from './redis-stats.js';
import { writeRunResults } from './results-file.js';
import { round } from './stats.js';
import { textTable } from './text-table.js';

interface JobData {
  i: number;
}

const DEFAULT_JOBS = 100_000;
/** Jobs per addBulk call: what one add script call takes at most, so one call is one round trip. */
const ADD_CHUNK = 1000;
/** No completion for this long means sluice hung: the run fails with a message instead of waiting forever. */
const STALL_MS = 30_000;
/** sluice's default removeOnComplete count, which these queues keep: completed jobs left after a run. */
const KEEP_COMPLETED = 1000;
/** Jobs of the unmeasured warm-up run. */
const WARM_UP_JOBS = 5000;

// ---------------------------------------------------------------------------------------------- options

interface Options {
  readonly jobs: number;
  readonly quick: boolean;
}

function parseOptions(argv: readonly string[]): Options {
  const { values } = parseArgs({
    args: [...argv],
    options: { quick: { type: 'boolean' }, jobs: { type: 'string' } },
    strict: true,
  });
  const quick = values.quick === true;
  if (values.jobs === undefined) return { jobs: quick ? DEFAULT_JOBS / 10 : DEFAULT_JOBS, quick };
  const jobs = Number(values.jobs);
  if (!Number.isSafeInteger(jobs) || jobs < 1) throw new Error(`--jobs takes a positive integer, got '${values.jobs}'`);
  return { jobs, quick };
}

// ------------------------------------------------------------------------------------------ environment

interface RunInfo {
  readonly benchmark: 'throughput';
  readonly date: string;
  readonly quick: boolean;
  readonly jobs: number;
  readonly machine: MachineAndLoad;
  readonly node: string;
  /** The URL is not recorded: a REDIS_URL may carry a password. */
  readonly redis: { readonly version: string; readonly server: 'spawned' | 'REDIS_URL' };
  readonly sluice: string;
  readonly git: Pick<GitState, 'commit' | 'dirty'>;
  readonly pinning: Pinning;
}

async function runInfo(admin: Redis, options: Options, spawned: boolean, pinning: Pinning): Promise<RunInfo> {
  const git = gitState();
  return {
    benchmark: 'throughput',
    date: new Date().toISOString(),
    quick: options.quick,
    jobs: options.jobs,
    machine: machineAndLoad(),
    node: process.version,
    redis: { version: await redisVersion(admin), server: spawned ? 'spawned' : 'REDIS_URL' },
    sluice: packageVersion('sluice'),
    git: { commit: git.commit, dirty: git.dirty },
    pinning,
  };
}

// ------------------------------------------------------------------------------------------- measuring

/** What every scenario needs. */
interface Bench {
  readonly connection: { url: string };
  /** The benchmark's own connection (INFO snapshots, FLUSHALL), used outside the timed windows only. */
  readonly admin: Redis;
  /** Only a Redis we spawned may be flushed; a REDIS_URL one gets its bench queues obliterated instead. */
  readonly ownServer: boolean;
}

interface Measurement {
  readonly seconds: number;
  readonly redis: RedisDelta;
  /** User + system CPU of this Node process (producer and worker both live here). */
  readonly nodeCpuMicros: number;
}

/** Times `run` and takes what Redis and this process spent on it; the INFO snapshots sit outside the timer. */
async function measure(bench: Bench, run: () => Promise<void>): Promise<Measurement> {
  const before = await takeSnapshot(bench.admin);
  const cpu = process.cpuUsage();
  const start = process.hrtime.bigint();
  await run();
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const used = process.cpuUsage(cpu);
  const after = await takeSnapshot(bench.admin);
  return { seconds, redis: diff(before, after), nodeCpuMicros: used.user + used.system };
}

interface CommandPerJob {
  readonly command: string;
  readonly calls: number;
  readonly callsPerJob: number;
  /** Redis time per job; a script's figure (fcall, evalsha) includes the commands it called. */
  readonly usecPerJob: number;
}

interface ScenarioResult {
  readonly id: string;
  readonly scenario: string;
  readonly jobs: number;
  readonly seconds: number;
  readonly jobsPerSecond: number;
  readonly redisCommands: number;
  readonly commandsPerJob: number;
  readonly redisCpuMicros: number;
  readonly redisCpuMicrosPerJob: number;
  /** Share of one core redis-server used over the window: near 100% means Redis is the bottleneck. */
  readonly redisCpuPercent: number;
  readonly nodeCpuMicrosPerJob: number;
  readonly nodeCpuPercent: number;
  readonly commands: readonly CommandPerJob[];
  /** Queue counts after the run, read outside the timed window: a check that the figures are of a correct run. */
  readonly counts: CountsCheck;
}

interface CountsCheck {
  readonly ok: boolean;
  readonly actual: Counts;
  readonly expected: Counts;
}

/** Reads the queue's counts after the timed window (so it adds nothing to the figures) and compares. */
async function checkCounts(queue: Queue<JobData, void>, expected: Counts): Promise<CountsCheck> {
  const actual = await queue.getCounts();
  const ok = (Object.keys(expected) as (keyof Counts)[]).every((state) => actual[state] === expected[state]);
  return { ok, actual, expected };
}

const processed = (jobs: number): Counts => ({ waiting: 0, active: 0, delayed: 0, completed: Math.min(jobs, KEEP_COMPLETED), failed: 0, paused: 0, limited: 0, blocked: 0 });

function result(id: string, scenario: string, jobs: number, m: Measurement, counts: CountsCheck): ScenarioResult {
  return {
    id,
    scenario,
    jobs,
    seconds: round(m.seconds, 3),
    jobsPerSecond: Math.round(jobs / m.seconds),
    redisCommands: m.redis.commands,
    commandsPerJob: round(m.redis.commands / jobs, 3),
    redisCpuMicros: Math.round(m.redis.cpuMicros),
    redisCpuMicrosPerJob: round(m.redis.cpuMicros / jobs, 2),
    redisCpuPercent: round((m.redis.cpuMicros / 1e6 / m.seconds) * 100, 1),
    nodeCpuMicrosPerJob: round(m.nodeCpuMicros / jobs, 2),
    nodeCpuPercent: round((m.nodeCpuMicros / 1e6 / m.seconds) * 100, 1),
    commands: m.redis.byCommand.map((c) => ({
      command: c.command,
      calls: c.calls,
      callsPerJob: round(c.calls / jobs, 4),
      usecPerJob: round(c.usec / jobs, 3),
    })),
    counts,
  };
}

// ------------------------------------------------------------------------------------ queues and workers

/** A fresh queue on a clean Redis; closed afterwards (and on a shared Redis, obliterated). */
async function withQueue<T>(bench: Bench, label: string, use: (queue: Queue<JobData, void>) => Promise<T>): Promise<T> {
  if (bench.ownServer) await bench.admin.flushall();
  // The bench's Redis runs without persistence on purpose: no warning.
  const queue = new Queue<JobData, void>(`bench:${label}:${Date.now()}`, { connection: bench.connection, redisConfig: 'off' });
  try {
    return await use(queue);
  } finally {
    try {
      if (!bench.ownServer) await queue.obliterate({ force: true });
    } finally {
      await queue.close();
    }
  }
}

/**
 * A worker with a no-op handler, connected but not claiming yet (autorun off), so connection setup stays
 * out of the timed window; `processAll` starts it inside. Closed afterwards, also on error.
 */
async function withWorker<T>(
  bench: Bench,
  queue: string,
  concurrency: number,
  use: (worker: Worker<JobData, void>) => Promise<T>,
): Promise<T> {
  const worker = new Worker<JobData, void>(queue, () => Promise.resolve(), { connection: bench.connection, redisConfig: 'off', concurrency, autorun: false });
  try {
    await worker.store.client.ping();
    return await use(worker);
  } finally {
    await worker.close();
  }
}

/** Adds `total` tiny jobs, one addBulk of ADD_CHUNK after another, as a producer would. */
async function addJobs(queue: Queue<JobData, void>, total: number): Promise<void> {
  for (let from = 0; from < total; from += ADD_CHUNK) {
    const chunk: BulkJob<JobData>[] = [];
    for (let i = from; i < Math.min(total, from + ADD_CHUNK); i++) chunk.push({ name: 'bench', data: { i } });
    await queue.addBulk(chunk);
  }
}

/**
 * Resolves once `worker` has emitted `completed` `total` times. Counted in-process: polling Redis for
 * counts would add commands to the very figures being measured. Rejects on a worker error, a retry or a
 * failure (a no-op handler never fails), and when nothing completes for STALL_MS.
 */
function completion(worker: Worker<JobData, void>, total: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let done = 0;
    let lastProgress = Date.now();
    const onCompleted = (): void => {
      done++;
      lastProgress = Date.now();
      if (done === total) finish();
    };
    const onFailed = (job: Job<JobData, void>, error: Error): void => finish(new Error(`job ${job.id} failed: ${error.message}`));
    const onError = (error: Error): void => finish(error);
    const watchdog = setInterval(() => {
      if (Date.now() - lastProgress > STALL_MS) {
        finish(new Error(`stalled: ${done} of ${total} jobs completed, none in the last ${STALL_MS / 1000} s (worker running ${worker.running})`));
      }
    }, 1000);
    // Must not keep the process alive when an error elsewhere (a failed add) ends the run first.
    watchdog.unref();
    function finish(error?: Error): void {
      clearInterval(watchdog);
      worker.off('completed', onCompleted).off('failed', onFailed).off('retrying', onFailed).off('error', onError);
      if (error === undefined) resolve();
      else reject(error);
    }
    worker.on('completed', onCompleted).on('failed', onFailed).on('retrying', onFailed).on('error', onError);
  });
}

/** Starts the worker and waits until it has completed `total` jobs (while `produce`, if given, adds them). */
async function processAll(worker: Worker<JobData, void>, total: number, produce?: () => Promise<void>): Promise<void> {
  const done = completion(worker, total);
  // The claim loop's promise is awaited by worker.close() (withWorker), and the loop never rejects.
  void worker.run();
  // Promise.all, so a worker error during the adds is handled, not an unhandled rejection.
  await Promise.all([produce?.(), done]);
}

// ------------------------------------------------------------------------------------------- scenarios

/** Unmeasured: V8 optimises the hot paths and Redis loads the scripts, so scenario a does not pay for them. */
async function warmUp(bench: Bench, jobs: number): Promise<void> {
  await withQueue(bench, 'warm-up', (queue) =>
    withWorker(bench, queue.name, 64, (worker) => processAll(worker, jobs, () => addJobs(queue, jobs))),
  );
}

async function scenarioAdd(bench: Bench, jobs: number): Promise<ScenarioResult> {
  return withQueue(bench, 'add', async (queue) => {
    const m = await measure(bench, () => addJobs(queue, jobs));
    const counts = await checkCounts(queue, { waiting: jobs, active: 0, delayed: 0, completed: 0, failed: 0, paused: 0, limited: 0, blocked: 0 });
    return result('add', `a. add (addBulk x ${ADD_CHUNK})`, jobs, m, counts);
  });
}

async function scenarioProcess(bench: Bench, jobs: number, concurrency: number, label: string): Promise<ScenarioResult> {
  return withQueue(bench, `process-c${concurrency}`, async (queue) => {
    await addJobs(queue, jobs);
    return withWorker(bench, queue.name, concurrency, async (worker) => {
      const m = await measure(bench, () => processAll(worker, jobs));
      return result(`process-c${concurrency}`, `${label}. process, concurrency ${concurrency}`, jobs, m, await checkCounts(queue, processed(jobs)));
    });
  });
}

/** The worker runs while the jobs are added, as in production: adds and claims interleave on Redis. */
async function scenarioEndToEnd(bench: Bench, jobs: number): Promise<ScenarioResult> {
  return withQueue(bench, 'e2e', (queue) =>
    withWorker(bench, queue.name, 64, async (worker) => {
      const m = await measure(bench, () => processAll(worker, jobs, () => addJobs(queue, jobs)));
      return result('add+process-c64', 'd. add + process, concurrency 64', jobs, m, await checkCounts(queue, processed(jobs)));
    }),
  );
}

// -------------------------------------------------------------------------------------------- printing

const integer = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

function summaryTable(results: readonly ScenarioResult[]): string {
  return textTable(
    ['scenario', 'jobs', 'seconds', 'jobs/s', 'commands/job', 'Redis CPU µs/job', 'Redis CPU', 'Node CPU µs/job', 'Node CPU'],
    results.map((r) => [
      r.scenario,
      integer.format(r.jobs),
      r.seconds.toFixed(2),
      integer.format(r.jobsPerSecond),
      r.commandsPerJob.toFixed(2),
      r.redisCpuMicrosPerJob.toFixed(1),
      `${r.redisCpuPercent.toFixed(0)}%`,
      r.nodeCpuMicrosPerJob.toFixed(1),
      `${r.nodeCpuPercent.toFixed(0)}%`,
    ]),
  );
}

function commandTable(r: ScenarioResult): string {
  return textTable(
    ['command', 'calls/job', 'Redis µs/job'],
    r.commands.filter((c) => c.callsPerJob >= 0.0001).map((c) => [c.command, c.callsPerJob.toFixed(4), c.usecPerJob.toFixed(2)]),
  );
}

function topLine(r: ScenarioResult, count: number): string {
  return r.commands
    .slice(0, count)
    .map((c) => `${c.command} ${c.callsPerJob.toFixed(3)}`)
    .join(', ');
}

// ------------------------------------------------------------------------------------------------ main

/**
 * The benchmark's own connection. It fails at once, saying so, when Redis is not there, where ioredis'
 * default would retry forever; its errors reach us as rejected commands, so the 'error' event is muted.
 */
async function connectAdmin(url: string): Promise<Redis> {
  const admin = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null });
  let lastError: Error | undefined;
  admin.on('error', (error: Error) => (lastError = error));
  try {
    await admin.connect();
    await admin.ping();
  } catch (error) {
    admin.disconnect();
    // The socket's error (ECONNREFUSED...) says more than connect()'s "Connection is closed". Not the
    // URL itself: it may carry a password.
    const why = lastError?.message ?? (error instanceof Error ? error.message : String(error));
    throw new Error(`cannot reach Redis: ${why}`, { cause: error });
  }
  return admin;
}


async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const external = process.env.REDIS_URL;
  let spawned: SpawnedRedis | undefined;
  let admin: Redis | undefined;
  try {
    let url: string;
    if (external !== undefined && external !== '') {
      url = external;
      console.log('Redis: REDIS_URL (not spawned, not flushed; its figures include other clients\' commands, if any)');
    } else {
      spawned = await spawnRedis();
      url = spawned.url;
      console.log(`Redis: spawned redis-server (pid ${spawned.process.pid ?? '?'}) on port ${spawned.port}`);
    }
    const pinning = pinProcesses(spawned, 'node');
    console.log(`Pinning: ${pinning.note}`);
    admin = await connectAdmin(url);
    const bench: Bench = { connection: { url }, admin, ownServer: spawned !== undefined };
    const info = await runInfo(admin, options, spawned !== undefined, pinning);
    console.log(
      `sluice ${info.sluice} (${info.git.commit ?? 'no git'}${info.git.dirty === true ? ', dirty' : ''}), node ${info.node}, ` +
        `redis ${info.redis.version}, ${info.machine.cpuModel} x ${info.machine.cores}, ` +
        `${(info.machine.totalMemoryBytes / 2 ** 30).toFixed(1)} GiB${options.quick ? ', --quick' : ''}; N = ${integer.format(options.jobs)}`,
    );
    const load = info.machine.loadAverage.start;
    // Below one busy core's worth of other work the pinned processes mostly keep their cores to themselves.
    if (load > 0.5) console.log(`Note: load average ${load} before the run: other processes compete for CPU; times will be noisy.`);
    console.log('');

    await warmUp(bench, Math.min(WARM_UP_JOBS, options.jobs));
    const scenarios: (() => Promise<ScenarioResult>)[] = [
      () => scenarioAdd(bench, options.jobs),
      () => scenarioProcess(bench, Math.max(1, Math.floor(options.jobs / 10)), 1, 'b'),
      () => scenarioProcess(bench, options.jobs, 64, 'c'),
      () => scenarioEndToEnd(bench, options.jobs),
    ];
    const results: ScenarioResult[] = [];
    for (const run of scenarios) {
      const r = await run();
      results.push(r);
      console.log(`  done: ${r.scenario}: ${integer.format(r.jobsPerSecond)} jobs/s`);
    }

    console.log(`\n${summaryTable(results)}\n`);
    console.log('Top commands per job (commandstats counts commands called inside scripts too):');
    for (const r of results) console.log(`  ${r.scenario}: ${topLine(r, 8)}`);
    const e2e = results[results.length - 1] as ScenarioResult;
    console.log(`\nAll commands of "${e2e.scenario}" (fcall's and evalsha's µs include the commands their scripts called):\n${commandTable(e2e)}\n`);
    console.log(`Results: ${writeRunResults(info, results)}`);
    const wrong = results.filter((r) => !r.counts.ok);
    for (const r of wrong) {
      console.error(`COUNTS WRONG after "${r.scenario}": expected ${JSON.stringify(r.counts.expected)}, got ${JSON.stringify(r.counts.actual)}`);
    }
    // The figures are written either way (they may help find the bug), but such a run is not a success.
    if (wrong.length > 0) process.exitCode = 1;
  } finally {
    // Scenarios close what they open; this only catches what an error path could have left behind.
    const leaked = await closeOpenHandles();
    if (leaked.length > 0) console.error(`closed handles left open: ${leaked.join(', ')}`);
    if (admin !== undefined) await quit(admin);
    await spawned?.stop();
  }
}

try {
  await main();
} catch (error) {
  console.error('benchmark failed:', error);
  process.exitCode = 1;
}

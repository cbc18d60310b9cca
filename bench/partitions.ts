/**
 * One partitioned queue on a local 3-master Redis Cluster against the same queue unpartitioned: Redis CPU
 * per job on each master (add + process), how evenly the masters are loaded, Redis commands and script
 * calls per job, and jobs/s; and the scaling model's figure beside each (bench/scaling-model.ts), which
 * takes the measured script calls per job. The cluster is three redis-server processes on loopback
 * (test/harness/redis-cluster.ts); on a 2-core machine they share the cores with the producer and the
 * worker, so total throughput cannot grow with partitions here: what this measures is the per-job cost and
 * the spread. N partitions on 3 masters make the calls per job N masters would (a call goes to its
 * partition's master whichever that is), so `--partitions 10,100` measures the model's larger rows.
 *
 *   npm run bench:partitions -- [--jobs 30000] [--rounds 3] [--concurrency 64] [--partitions 3[,10,100]]
 *                               [--job-ms 0] [--consume k] [--instructions] [--single]
 *
 * --job-ms: each handler waits that long (0: returns at once, Redis-bound). --consume k: N/k workers, each
 * consuming k partitions (default one worker consuming all). --instructions: the masters run under
 * valgrind's callgrind and the figure is Redis instructions per job, which repeat whatever the machine's
 * load (CPU time does not). --single: one redis-server instead of the cluster, every partition on it.
 *
 * Needs redis-server and redis-cli on the PATH (and valgrind for --instructions). Prints a table and writes
 * bench/results/partitions-<time>.json.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { Queue, Worker, type ConnectionOptions } from 'sluice';
import { startCluster } from '../test/harness/redis-cluster.js';
import { freePort, spawnRedis } from '../test/harness/redis-server.js';
import { waitUntilAnswers } from '../src/redis/connection.js';
import { dump } from './callgrind.js';
import { loadAverage, machineAndLoad } from './environment.js';
import { stamp, writeResultsFile } from './results-file.js';
import { instructionsPerJob, PER_CALL, REFERENCE, TOLERANCE } from './scaling-model.js';
import { diff, parseInfo, takeSnapshot, type RedisSnapshot } from './redis-stats.js';

const { values } = parseArgs({
  options: {
    jobs: { type: 'string', default: '30000' },
    rounds: { type: 'string', default: '3' },
    concurrency: { type: 'string', default: '64' },
    partitions: { type: 'string', default: '3' },
    instructions: { type: 'boolean', default: false },
    single: { type: 'boolean', default: false },
    'job-ms': { type: 'string', default: '0' },
    consume: { type: 'string' },
  },
});
const JOBS = Number(values.jobs);
const ROUNDS = Number(values.rounds);
const CONCURRENCY = Number(values.concurrency);
/** The partition counts run against the unpartitioned queue: `--partitions 3` or `--partitions 3,6,12`. */
const PARTITIONS = values.partitions.split(',').map(Number);
/** The masters run under valgrind's callgrind: instructions per job, the figure that repeats whatever the machine's load. */
const INSTRUCTIONS = values.instructions;
/**
 * One redis-server instead of the cluster, every partition on it: what partitioning costs Redis by itself,
 * without three servers taking turns on the cores with the producer and the worker.
 */
const SINGLE = values.single;
/** How long each job's handler takes (ms); 0: it returns at once, and Redis is the bottleneck. */
const JOB_MS = Number(values['job-ms']);
/** Partitions per worker: N/k workers of `--concurrency` each; undefined, one worker consuming every partition. */
const CONSUME = values.consume === undefined ? undefined : Number(values.consume);
/** addBulk calls in flight, each of CHUNK jobs: the producer keeps every partition's master busy. */
const CHUNK = 1000;
const IN_FLIGHT = 4;

interface Run {
  partitions: number;
  /** Partitions each worker consumed (all of them: one worker). */
  perWorker: number;
  jobs: number;
  seconds: number;
  jobsPerSecond: number;
  /** Redis CPU µs per job, all masters together. */
  redisMicrosPerJob: number;
  /** Of redisMicrosPerJob, the kernel's (used_cpu_sys). */
  redisSysMicrosPerJob: number;
  /** Redis commands per job (scripts and the commands they ran), all masters together. */
  commandsPerJob: number;
  /** Per master, `host:port` -> Redis CPU µs per job of the run spent on that master. */
  perMaster: Record<string, number>;
  /** The busiest master's CPU over the mean of all (1 = perfectly even; 3 = one master of three did everything). */
  busiestOverMean: number;
  /** Calls per job of each command, all masters together (scripts, the commands they ran, blocking reads). */
  callsPerJob: Record<string, number>;
  /** With --instructions: Redis instructions per job (callgrind), all masters together, and per master. */
  instructionsPerJob?: number;
  instructionsPerMaster?: Record<string, number>;
  /** Script calls (FCALL and FCALL_RO) per job, all masters together. */
  scriptCallsPerJob: number;
  /**
   * Context switches of the masters per job (Linux /proc/<pid>/status): `wakeups`, voluntary ones (Redis
   * slept in epoll_wait and was woken by a request), and `preemptions`, involuntary ones (the kernel gave its
   * core to another process). Each costs cache refills that callgrind's instruction counts do not show.
   */
  switchesPerJob?: { wakeups: number; preemptions: number };
}

/** A master of the cluster: a connection of its own, and with --instructions its callgrind output. */
interface Master {
  readonly redis: Redis;
  readonly address: string;
  /** The redis-server's process id (INFO server), for its context switches. */
  readonly pid: number;
  readonly callgrind?: {
    readonly pid: number;
    readonly out: string;
    dumps: number;
    /** When it last dumped (performance.now()). */
    at: number;
    /** What it executes per second while idle (its cron, the cluster bus, valgrind's slowness stretching both). */
    idlePerSecond: number;
  };
}

async function snapshots(masters: readonly Master[]): Promise<RedisSnapshot[]> {
  return Promise.all(masters.map((master) => takeSnapshot(master.redis)));
}

/** The masters' context switches so far, voluntary and involuntary, summed; undefined off Linux. */
function switches(masters: readonly Master[]): { wakeups: number; preemptions: number } | undefined {
  try {
    let wakeups = 0;
    let preemptions = 0;
    for (const { pid } of masters) {
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      wakeups += Number(/^voluntary_ctxt_switches:\s+(\d+)/m.exec(status)?.[1]);
      preemptions += Number(/^nonvoluntary_ctxt_switches:\s+(\d+)/m.exec(status)?.[1]);
    }
    return Number.isFinite(wakeups + preemptions) ? { wakeups, preemptions } : undefined;
  } catch {
    return undefined;
  }
}

async function pidOf(redis: Redis): Promise<number> {
  return Number(parseInfo(await redis.info('server')).get('process_id'));
}

/**
 * With --instructions, the instructions each master executed since its last dump (one master at a time),
 * less what it would have executed idle meanwhile: under callgrind a run lasts about 40 times longer, and
 * the idle work of three masters (about 1.3 million instructions a second each here) would add a few
 * thousand instructions per job that a run at full speed does not have.
 */
async function counted(masters: readonly Master[]): Promise<number[] | undefined> {
  if (!INSTRUCTIONS) return undefined;
  const counts: number[] = [];
  for (const { redis, callgrind } of masters) {
    if (callgrind === undefined) throw new Error('--instructions without callgrind');
    callgrind.dumps += 1;
    const total = await dump(callgrind.pid, callgrind.out, callgrind.dumps, redis);
    const now = performance.now();
    counts.push(Math.max(0, total - (callgrind.idlePerSecond * (now - callgrind.at)) / 1000));
    callgrind.at = now;
  }
  return counts;
}

/** Measures each master's idle instructions per second, over IDLE_MS with nothing to do. */
async function measureIdle(masters: readonly Master[]): Promise<void> {
  await counted(masters);
  await new Promise((resolve) => setTimeout(resolve, IDLE_MS));
  for (const { redis, callgrind } of masters) {
    if (callgrind === undefined) continue;
    callgrind.dumps += 1;
    const total = await dump(callgrind.pid, callgrind.out, callgrind.dumps, redis);
    const now = performance.now();
    callgrind.idlePerSecond = total / ((now - callgrind.at) / 1000);
    callgrind.at = now;
  }
}
const IDLE_MS = 3000;

async function runOnce(connection: ConnectionOptions, masters: readonly Master[], partitions: number, round: number): Promise<Run> {
  const name = `bench-partitions-${partitions}-${round}-${process.pid}`;
  const options = { connection, partitions, redisConfig: 'off' as const, eventsMaxLen: 10_000 };
  // Under callgrind an add call of 200 jobs takes Redis 40 times as long, longer than the default 5 s on a busy machine.
  const queue = new Queue<{ n: number }>(name, { ...options, ...(INSTRUCTIONS ? { commandTimeout: 120_000 } : {}) });
  await queue.add('warm', { n: -1 });
  const handler = JOB_MS > 0 ? () => new Promise<void>((resolve) => setTimeout(resolve, JOB_MS)) : async (): Promise<void> => undefined;
  const perWorker = CONSUME === undefined || CONSUME >= partitions ? partitions : CONSUME;
  const workers = Array.from({ length: Math.ceil(partitions / perWorker) }, (_, w) => {
    const consumed = Array.from({ length: perWorker }, (_, i) => w * perWorker + i).filter((p) => p < partitions);
    return new Worker<{ n: number }>(name, handler, {
      ...options,
      concurrency: CONCURRENCY,
      schedules: false,
      ...(perWorker === partitions ? {} : { consumePartitions: consumed }),
    });
  });
  let completed = 0;
  let allDone: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => (allDone = resolve));
  for (const worker of workers) {
    worker.on('completed', () => {
      if (++completed === JOBS + 1) allDone();
    });
  }
  await counted(masters);
  const switchesBefore = switches(masters);
  const before = await snapshots(masters);
  const started = performance.now();
  let next = 0;
  const producer = async (): Promise<void> => {
    while (next < JOBS) {
      const from = next;
      next = Math.min(JOBS, next + CHUNK);
      await queue.addBulk(Array.from({ length: next - from }, (_, i) => ({ name: 'x', data: { n: from + i } })));
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, producer));
  await finished;
  const seconds = (performance.now() - started) / 1000;
  const after = await snapshots(masters);
  const switchesAfter = switches(masters);
  const instructions = await counted(masters);
  const deltas = masters.map((_, i) => diff(before[i] as RedisSnapshot, after[i] as RedisSnapshot));
  const perMaster: Record<string, number> = {};
  masters.forEach((master, i) => (perMaster[master.address] = (deltas[i]?.cpuMicros ?? 0) / JOBS));
  const cpu = deltas.map((delta) => delta.cpuMicros);
  const mean = cpu.reduce((a, b) => a + b, 0) / cpu.length;
  await Promise.all(workers.map((worker) => worker.close()));
  await queue.obliterate();
  await queue.close();
  return {
    partitions,
    perWorker,
    jobs: JOBS,
    seconds,
    jobsPerSecond: JOBS / seconds,
    redisMicrosPerJob: cpu.reduce((a, b) => a + b, 0) / JOBS,
    redisSysMicrosPerJob: deltas.reduce((total, delta) => total + delta.cpuSysMicros, 0) / JOBS,
    commandsPerJob: deltas.reduce((sum, delta) => sum + delta.commands, 0) / JOBS,
    perMaster,
    busiestOverMean: Math.max(...cpu) / mean,
    callsPerJob: perJob(deltas),
    scriptCallsPerJob: sum(deltas, SCRIPTS, 'calls') / JOBS,
    ...(switchesBefore === undefined || switchesAfter === undefined
      ? {}
      : { switchesPerJob: { wakeups: (switchesAfter.wakeups - switchesBefore.wakeups) / JOBS, preemptions: (switchesAfter.preemptions - switchesBefore.preemptions) / JOBS } }),
    ...(instructions === undefined
      ? {}
      : {
          instructionsPerJob: instructions.reduce((a, b) => a + b, 0) / JOBS,
          instructionsPerMaster: Object.fromEntries(masters.map((master, i) => [master.address, (instructions[i] ?? 0) / JOBS])),
        }),
  };
}

const SCRIPTS = new Set(['fcall', 'fcall_ro', 'evalsha', 'eval']);

/** `field` summed over the commands named in `commands`, all masters together. */
function sum(deltas: readonly ReturnType<typeof diff>[], commands: ReadonlySet<string>, field: 'calls'): number {
  return deltas.reduce((total, delta) => total + delta.byCommand.filter((cost) => commands.has(cost.command)).reduce((n, cost) => n + cost[field], 0), 0);
}

/** Each command's calls per job over all masters, rounded to 4 places; commands under 0.0001 per job left out. */
function perJob(deltas: readonly ReturnType<typeof diff>[]): Record<string, number> {
  const calls = new Map<string, number>();
  for (const delta of deltas) for (const { command, calls: n } of delta.byCommand) calls.set(command, (calls.get(command) ?? 0) + n);
  const out: Record<string, number> = {};
  for (const [command, n] of [...calls].sort((a, b) => b[1] - a[1])) if (n / JOBS >= 0.0001) out[command] = Math.round((n / JOBS) * 10_000) / 10_000;
  return out;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

/** The cluster (or with --single one redis-server), its masters, and how to stop it. */
async function servers(): Promise<{ connection: ConnectionOptions; masters: Master[]; stop: () => Promise<void> }> {
  if (SINGLE && INSTRUCTIONS) {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-callgrind-'));
    const out = join(dir, 'callgrind.out');
    const port = await freePort();
    const child = spawn('valgrind', ['--tool=callgrind', `--callgrind-out-file=${out}`, 'redis-server', '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: 'ignore' });
    const url = `redis://127.0.0.1:${port}`;
    await waitUntilAnswers(url, 60_000);
    const redis = new Redis(url);
    const pid = await pidOf(redis);
    const stopped = new Promise((resolve) => child.once('exit', resolve));
    const stopServer = async (): Promise<void> => {
      child.kill('SIGKILL');
      await stopped;
      rmSync(dir, { recursive: true, force: true });
    };
    return { connection: { url }, masters: [{ redis, address: `127.0.0.1:${port}`, pid, callgrind: { pid, out, dumps: 0, at: performance.now(), idlePerSecond: 0 } }], stop: stopServer };
  }
  if (SINGLE) {
    const server = await spawnRedis();
    const redis = new Redis(server.url);
    return { connection: { url: server.url }, masters: [{ redis, address: `127.0.0.1:${server.port}`, pid: await pidOf(redis) }], stop: () => server.stop() };
  }
  const outs = new Map<number, string>();
  const cluster = await startCluster(
    INSTRUCTIONS
      ? {
          launcher: (port, dir) => {
            outs.set(port, join(dir, 'callgrind.out'));
            return ['valgrind', '--tool=callgrind', `--callgrind-out-file=${join(dir, 'callgrind.out')}`];
          },
        }
      : {},
  );
  const masters: Master[] = await Promise.all(
    cluster.nodes.map(async ({ host, port }) => {
      const redis = new Redis(port, host);
      const pid = await pidOf(redis);
      const out = outs.get(port);
      if (out === undefined) return { redis, address: `${host}:${port}`, pid };
      return { redis, address: `${host}:${port}`, pid, callgrind: { pid, out, dumps: 0, at: performance.now(), idlePerSecond: 0 } };
    }),
  );
  return { connection: { cluster: [...cluster.nodes] }, masters, stop: () => cluster.stop() };
}

async function main(): Promise<void> {
  const loadStart = machineAndLoad();
  const { connection, masters, stop } = await servers();
  const runs: Run[] = [];
  try {
    if (INSTRUCTIONS) {
      await measureIdle(masters);
      console.log(`idle, per master: ${masters.map((m) => `${Math.round((m.callgrind?.idlePerSecond ?? 0) / 1000).toLocaleString('en')}k`).join(' / ')} instructions/s (taken out of each run's count)`);
    }
    // Taking turns, so a change in the machine's load falls on all.
    for (let round = 0; round < ROUNDS; round++) {
      for (const partitions of [1, ...PARTITIONS]) {
        const run = await runOnce(connection, masters, partitions, round);
        runs.push(run);
        const instructions = run.instructionsPerJob === undefined ? '' : `${Math.round(run.instructionsPerJob).toLocaleString('en')} instructions/job, `;
        console.log(
          `round ${round + 1} partitions ${partitions}: ${run.jobsPerSecond.toFixed(0)} jobs/s, ${instructions}${run.redisMicrosPerJob.toFixed(1)} Redis µs/job (${run.redisSysMicrosPerJob.toFixed(1)} kernel), ` +
            `${run.commandsPerJob.toFixed(2)} commands/job, per master ${Object.values(run.perMaster).map((us) => us.toFixed(1)).join(' / ')} µs/job, ` +
            `busiest/mean ${run.busiestOverMean.toFixed(2)}, script calls/job ${run.scriptCallsPerJob.toFixed(4)}` +
            (run.switchesPerJob === undefined ? '' : `, Redis woken ${run.switchesPerJob.wakeups.toFixed(3)} and preempted ${run.switchesPerJob.preemptions.toFixed(3)} times per job`),
        );
      }
    }
  } finally {
    for (const { redis } of masters) redis.disconnect();
    await stop();
  }
  summary(runs);
  const machine = { ...loadStart, loadAverage: { ...loadStart.loadAverage, end: loadAverage() } };
  const settings = { jobs: JOBS, rounds: ROUNDS, concurrency: CONCURRENCY, jobMs: JOB_MS, consume: CONSUME ?? 'all', instructions: INSTRUCTIONS, single: SINGLE, producer: { addBulk: CHUNK, inFlight: IN_FLIGHT } };
  const file = writeResultsFile(`partitions-${stamp(new Date().toISOString())}.json`, { settings, machine, model: { perCall: PER_CALL, tolerance: TOLERANCE }, runs });
  console.log(`\nload average (1 min) ${machine.loadAverage.start} at the start, ${machine.loadAverage.end} at the end, ${machine.cores} cores`);
  console.log(`wrote ${file}`);
}

/**
 * The medians of each partition count, and the model beside them: its instructions per job from the
 * measured calls per job, against the unpartitioned run of the same round (bench/scaling-model.ts).
 */
function summary(runs: readonly Run[]): void {
  const what = `${JOB_MS > 0 ? `${JOB_MS} ms jobs` : 'jobs that return at once'}, worker concurrency ${CONCURRENCY}${SINGLE ? ', one redis-server' : ', 3 masters'}`;
  console.log(`\nmedians of ${ROUNDS} rounds, ${JOBS} jobs each, ${what}:`);
  const unit = INSTRUCTIONS ? 'instructions/job' : 'Redis µs/job';
  console.log(`| partitions | per worker | jobs/s | script calls/job | ${unit} | vs unpartitioned | model | model vs measured |`);
  console.log('| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  const rounds = Array.from({ length: ROUNDS }, (_, round) => runs.slice(round * (1 + PARTITIONS.length), (round + 1) * (1 + PARTITIONS.length)));
  for (const [i, partitions] of [1, ...PARTITIONS].entries()) {
    const mine = rounds.map((round) => ({ run: round[i] as Run, base: round[0] as Run }));
    const cost = (run: Run): number => (INSTRUCTIONS ? (run.instructionsPerJob ?? 0) : run.redisMicrosPerJob);
    const measured = median(mine.map(({ run, base }) => cost(run) / cost(base)));
    // The model's ratio from the calls per job alone; with --instructions started from the measured baseline.
    const model = median(
      mine.map(({ run, base }) => {
        const at = base.scriptCallsPerJob;
        const baseline = { instructionsPerJob: INSTRUCTIONS ? (base.instructionsPerJob ?? 0) : instructionsPerJob(REFERENCE, at), callsPerJob: at };
        return instructionsPerJob(baseline, run.scriptCallsPerJob) / baseline.instructionsPerJob;
      }),
    );
    const pick = (f: (run: Run) => number, digits: number): string => median(mine.map(({ run }) => f(run))).toFixed(digits);
    const off = model / measured - 1;
    const verdict = INSTRUCTIONS ? `${(off * 100).toFixed(1)}%${Math.abs(off) <= TOLERANCE ? '' : ' (outside the tolerance)'}` : `${(off * 100).toFixed(1)}% (CPU time: not the model's unit)`;
    console.log(
      `| ${partitions} | ${mine[0]?.run.perWorker ?? partitions} | ${pick((r) => r.jobsPerSecond, 0)} | ${pick((r) => r.scriptCallsPerJob, 4)} | ${pick(cost, INSTRUCTIONS ? 0 : 2)} | ` +
        `${measured.toFixed(3)}x | ${model.toFixed(3)}x | ${partitions === 1 ? '' : verdict} |`,
    );
  }
}


await main();

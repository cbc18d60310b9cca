/**
 * What priority levels cost a drain (issue 13): the comparison bench's priority-drain scenario (20,000 jobs
 * added first, then one worker process at concurrency 16), run for sluice alone with the jobs on its 3
 * levels as the scenario adds them (job i on level i mod 3), all on the default level (no priority option:
 * level 1, read after level 0 is found empty), and all on level 0; and, for scale, the drain scenario
 * (concurrency 256) on the same number of jobs. The runs take turns within each round, on a freshly flushed
 * Redis each, pinned as the comparison bench pins them.
 *
 *   npx tsx bench/priority-levels.ts                     3 rounds of 20,000 jobs
 *   npx tsx bench/priority-levels.ts --rounds 5 --jobs 10000
 *   npx tsx bench/priority-levels.ts --cpu-prof DIR      each worker process writes a CPU profile into DIR
 *                                                        (node --cpu-prof; pid order is run order)
 *
 * Prints per run jobs/s, the worker process' CPU and Redis' CPU per job, Redis commands per job, and
 * 1 / (worker CPU + Redis CPU per job): the rate if the two never worked at the same time, which is how a
 * worker with every slot in one call runs (docs/ARCHITECTURE.md, "Priority levels in a drain"). Writes
 * bench/results/priority-levels-<ISO date>.json.
 */
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { spawnRedis } from '../test/harness/redis-server.js';
import { contenders } from './contenders/index.js';
import type { BenchJob, Contender } from './contenders/contender.js';
import { gitState, loadAverage, machineAndLoad, pinProcesses } from './environment.js';
import { writeRunResults } from './results-file.js';
import { DRAIN_CONCURRENCY, PRIORITY_CONCURRENCY, scenarios, sizesFor, type Bench, type Measured } from './scenarios.js';

const RUNS = ['3 levels', 'default level', 'level 0', `drain c${DRAIN_CONCURRENCY}`] as const;
type Run = (typeof RUNS)[number];

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    jobs: { type: 'string', default: String(sizesFor(false).priorityJobs) },
    'cpu-prof': { type: 'string' },
  },
  strict: true,
});
const rounds = Number(values.rounds);
const jobs = Number(values.jobs);
if (!Number.isSafeInteger(rounds) || rounds < 1) throw new Error('--rounds takes a positive integer');
if (!Number.isSafeInteger(jobs) || jobs < 1000) throw new Error('--jobs takes an integer >= 1000');
// The worker processes are forked with this process' execArgv (bench/worker-handle.ts).
if (values['cpu-prof'] !== undefined) process.execArgv.push('--cpu-prof', `--cpu-prof-dir=${values['cpu-prof']}`);

/** sluice, its producer rewriting each job's level: none given (the default level), or level 0. */
function onOneLevel(level: 'default' | 0): Contender {
  const base = contenders.sluice;
  const rewrite = (job: BenchJob): BenchJob => (level === 'default' ? { data: job.data } : { data: job.data, priority: level });
  return {
    ...base,
    openProducer: async (url, queue) => {
      const producer = await base.openProducer(url, queue);
      return { addBulk: (batch) => producer.addBulk(batch.map(rewrite)), add: (job) => producer.add(rewrite(job)), close: () => producer.close() };
    },
  };
}

function runOnce(bench: Bench, run: Run, queue: string): Promise<Measured> {
  switch (run) {
    case '3 levels':
      return scenarios['priority-drain'].run(bench, contenders.sluice, queue);
    case 'default level':
      return scenarios['priority-drain'].run(bench, onOneLevel('default'), queue);
    case 'level 0':
      return scenarios['priority-drain'].run(bench, onOneLevel(0), queue);
    default:
      return scenarios.drain.run({ ...bench, sizes: { ...bench.sizes, jobs } }, contenders.sluice, queue);
  }
}

const spawned = await spawnRedis();
const admin = new Redis(spawned.url);
try {
  const pinning = pinProcesses(spawned);
  const bench: Bench = { url: spawned.url, admin, nodeCpu: pinning.nodeCpu, sizes: { ...sizesFor(false), priorityJobs: jobs } };
  const date = new Date().toISOString();
  console.log(`${pinning.note}; ${jobs.toLocaleString('en')} jobs, priority drains at concurrency ${PRIORITY_CONCURRENCY}; load average ${loadAverage()}`);
  // Unmeasured: loads the modules and the scripts, warms the code.
  await runOnce(bench, '3 levels', 'warm-up');
  const results: { round: number; run: Run; loadAverage: number; measured: Measured }[] = [];
  for (let round = 1; round <= rounds; round++) {
    const k = (round - 1) % RUNS.length;
    for (const run of [...RUNS.slice(k), ...RUNS.slice(0, k)]) {
      await admin.flushall();
      const load = loadAverage();
      const measured = await runOnce(bench, run, `levels-r${round}`);
      results.push({ round, run, loadAverage: load, measured });
      const worker = measured.workerCpuMicrosPerJob ?? 0;
      const redis = measured.redis.cpuMicrosPerJob;
      console.log(
        `round ${round} ${run.padEnd(13)} ${String(measured.values.jobsPerSecond ?? 0).padStart(6)} jobs/s; per job: worker ${worker.toFixed(1)} µs, ` +
          `Redis ${redis.toFixed(1)} µs, ${measured.redis.commandsPerJob.toFixed(2)} commands; serial rate ${Math.round(1e6 / (worker + redis))} jobs/s (load ${load})`,
      );
    }
  }
  const file = writeRunResults({ benchmark: 'priority-levels', date, machine: machineAndLoad() }, [{ jobs, concurrency: PRIORITY_CONCURRENCY, git: gitState(), pinning, runs: results }]);
  console.log(`\nResults: ${file}`);
} finally {
  admin.disconnect();
  await spawned.stop();
}

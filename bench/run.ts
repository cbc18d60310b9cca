/**
 * Comparison bench: sluice, BullMQ and Bee-Queue through the same scenarios in one invocation, the
 * libraries taking turns within each scenario, every run on a freshly flushed Redis.
 *
 *   npm run bench                     full size (100,000 jobs), 3 rounds; writes the results JSON and docs/benchmarks.md
 *   npm run bench -- --quick          sizes / 10, 1 round; writes the results JSON only
 *   npm run bench -- --rounds 3       more rounds (each figure is the median over them)
 *   npm run bench -- --contenders sluice,bullmq --scenarios e2e,latency
 *   npm run bench -- --quick --scenarios single-add,inflight-add,c1,priority-drain   issue 13's interactive path
 *   npm run bench -- --docs           write docs/benchmarks.md even from a quick or partial run
 *   npm run bench -- --partitions     also the partitioned queue on a 3-master cluster (bench/partitions.ts)
 *   npm run bench -- --no-partitions  a full run without it (a full run includes it)
 *
 * Needs redis-server on the PATH: the bench starts its own (pinned to CPU 0, the bench and its worker
 * processes to CPU 1, where taskset exists) and stops it at the end, also on errors. There is no REDIS_URL
 * mode: every run begins with FLUSHALL.
 *
 * Scenarios: e2e, drain, add, sleep, latency, delayed, memory (issue 4's figures 1-9) and single-add,
 * inflight-add, c1, priority-drain (issue 13's, 10-13); see bench/scenarios.ts. A scenario that needs
 * what a library lacks (priorities, in Bee-Queue) is recorded as n/a for it and not run.
 *
 * Writes bench/results/compare-<ISO date>[-quick].json. See bench/report.ts for the tables.
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { spawnRedis, type SpawnedRedis } from '../test/harness/redis-server.js';
import { CONTENDER_IDS, isContenderId, asError, type Contender, type ContenderId } from './contenders/contender.js';
import { contenders } from './contenders/index.js';
import { gitState, loadAverage, machine, pinProcesses } from './environment.js';
import { redisVersion } from './redis-stats.js';
import { consoleReport, markdown } from './report.js';
import { stamp, writeResultsFile } from './results-file.js';
import type { CompareResults, RunRecord } from './results-format.js';
import { ADD_CHUNK, scenarios, SCENARIO_IDS, sizesFor, type Bench, type ScenarioId } from './scenarios.js';

const DOCS_FILE = fileURLToPath(new URL('../docs/benchmarks.md', import.meta.url));
/** Jobs each producer adds (and are flushed) before the first round: loads modules, warms the bench's own code. */
const WARM_UP_JOBS = 2 * ADD_CHUNK;

interface Options {
  readonly quick: boolean;
  readonly rounds: number;
  readonly contenders: readonly ContenderId[];
  readonly scenarios: readonly ScenarioId[];
  readonly docs: boolean;
  /** Then one partitioned queue on a local 3-master cluster against the same queue unpartitioned (issue 17). */
  readonly partitions: boolean;
}

function list<T extends string>(value: string | undefined, all: readonly T[], valid: (v: string) => v is T, what: string): readonly T[] {
  if (value === undefined) return all;
  const picked = value.split(',').map((v) => v.trim());
  for (const v of picked) if (!valid(v)) throw new Error(`unknown ${what} '${v}'; known: ${all.join(', ')}`);
  // Keep the canonical order whatever order was given.
  return all.filter((v) => picked.includes(v));
}

function parseOptions(argv: readonly string[]): Options {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      quick: { type: 'boolean' },
      rounds: { type: 'string' },
      contenders: { type: 'string' },
      scenarios: { type: 'string' },
      docs: { type: 'boolean' },
      partitions: { type: 'boolean' },
      'no-partitions': { type: 'boolean' },
    },
    strict: true,
  });
  const quick = values.quick === true;
  const rounds = values.rounds === undefined ? (quick ? 1 : 3) : Number(values.rounds);
  if (!Number.isSafeInteger(rounds) || rounds < 1) throw new Error(`--rounds takes a positive integer, got '${values.rounds ?? ''}'`);
  const isScenario = (v: string): v is ScenarioId => (SCENARIO_IDS as readonly string[]).includes(v);
  const picked = {
    contenders: list(values.contenders, CONTENDER_IDS, isContenderId, 'contender'),
    scenarios: list(values.scenarios, SCENARIO_IDS, isScenario, 'scenario'),
  };
  const complete = picked.contenders.length === CONTENDER_IDS.length && picked.scenarios.length === SCENARIO_IDS.length;
  const partitions = values['no-partitions'] !== true && (values.partitions === true || (!quick && complete));
  return { quick, rounds, ...picked, docs: values.docs === true || (!quick && complete), partitions };
}

/** Round r starts with a different library, so none always runs first (or always right after another). */
function rotate<T>(items: readonly T[], by: number): T[] {
  const k = by % items.length;
  return [...items.slice(k), ...items.slice(0, k)];
}

/**
 * The bench's own connection. It fails at once when Redis is not there, where ioredis' default would
 * retry forever.
 */
async function connectAdmin(url: string): Promise<Redis> {
  const admin = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null });
  admin.on('error', () => undefined);
  await admin.connect();
  await admin.ping();
  return admin;
}

async function warmUp(bench: Bench, contender: Contender): Promise<void> {
  const producer = await contender.openProducer(bench.url, `warm-up-${contender.id}`);
  try {
    for (let from = 0; from < WARM_UP_JOBS; from += ADD_CHUNK) {
      await producer.addBulk(Array.from({ length: ADD_CHUNK }, (_, k) => ({ data: { i: from + k } })));
    }
  } finally {
    await producer.close();
  }
}

const integer = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

function describe(record: RunRecord): string {
  if (record.notApplicable !== undefined) return `n/a: ${record.notApplicable}`;
  const m = record.measured;
  if (m === undefined) return `FAILED: ${record.error ?? ''}`;
  const v = m.values;
  const parts: string[] = [];
  if (v.jobsPerSecond !== undefined) parts.push(`${integer.format(v.jobsPerSecond)} jobs/s`);
  if (v.wallSeconds !== undefined) parts.push(`${v.wallSeconds.toFixed(2)} s`);
  if (v.latencyP50Ms !== undefined) parts.push(`p50 ${v.latencyP50Ms.toFixed(2)} ms, p99 ${(v.latencyP99Ms ?? 0).toFixed(2)} ms`);
  if (v.latenessP99Ms !== undefined) parts.push(`late p99 ${v.latenessP99Ms.toFixed(1)} ms, min ${(v.latenessMinMs ?? 0).toFixed(1)} ms, early ${v.earlyJobs ?? 0}, add call ${(v.addCallMs ?? 0).toFixed(1)} ms`);
  if (v.bytesPerJob !== undefined) parts.push(`${integer.format(v.bytesPerJob)} B/job`);
  parts.push(`${m.redis.commandsPerJob.toFixed(2)} cmd/job`, `${m.redis.cpuMicrosPerJob.toFixed(1)} Redis µs/job`);
  // Without a worker process the bench is the only Node process, and its CPU per job is the producer's cost.
  if (m.workerCpuMicrosPerJob === undefined && m.producerCpuMicrosPerJob !== undefined) {
    parts.push(`${m.producerCpuMicrosPerJob.toFixed(1)} producer µs/job`);
  }
  return parts.join(', ');
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  let spawned: SpawnedRedis | undefined;
  let admin: Redis | undefined;
  const stop = async (): Promise<void> => {
    const a = admin;
    admin = undefined;
    a?.disconnect();
    const s = spawned;
    spawned = undefined;
    await s?.stop();
  };
  // Ctrl-C or a kill: the redis-server this bench started must not outlive it.
  const onSignal = (signal: NodeJS.Signals): void => {
    console.error(`\n${signal}: stopping redis-server and exiting`);
    void stop().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    spawned = await spawnRedis();
    const pinning = pinProcesses(spawned);
    admin = await connectAdmin(spawned.url);
    const sizes = sizesFor(options.quick);
    const bench: Bench = { url: spawned.url, admin, nodeCpu: pinning.nodeCpu, sizes };
    const date = new Date().toISOString();
    const startLoad = loadAverage();
    const git = gitState();
    const picked = options.contenders.map((id) => contenders[id]);
    const redis = { version: await redisVersion(admin) };
    console.log(
      `Redis ${redis.version} (pid ${spawned.process.pid ?? '?'}, port ${spawned.port}); ${pinning.note}\n` +
        `${picked.map((c) => `${c.label} ${c.version}`).join(', ')}; node ${process.version}; ` +
        `git ${git.commit ?? '?'}${git.dirty === true ? ' (dirty)' : ''}\n` +
        `${options.quick ? 'quick' : 'full'}: ${integer.format(sizes.jobs)} jobs, ${options.rounds} round(s), load average ${startLoad}`,
    );
    if (startLoad > 0.5) console.log('Note: the machine is busy (load average above 0.5); throughput will be noisy, ratios less so.');

    for (const contender of picked) {
      await warmUp(bench, contender);
      await admin.flushall();
    }

    const runs: RunRecord[] = [];
    const idWidth = Math.max(...options.scenarios.map((id) => id.length));
    for (let round = 1; round <= options.rounds; round++) {
      console.log(`\nround ${round} of ${options.rounds}`);
      for (const scenarioId of options.scenarios) {
        const scenario = scenarios[scenarioId];
        for (const contender of rotate(picked, round - 1)) {
          await admin.flushall();
          const record: RunRecord = { scenario: scenarioId, contender: contender.id, round, loadAverage: loadAverage(), startedAt: new Date().toISOString() };
          const queue = `bench-${scenarioId}-r${round}`;
          const notApplicable = scenario.notApplicable?.(contender);
          if (notApplicable !== undefined) {
            runs.push({ ...record, notApplicable });
          } else {
            try {
              runs.push({ ...record, measured: await scenario.run(bench, contender, queue) });
            } catch (error) {
              runs.push({ ...record, error: asError(error).message });
            }
          }
          console.log(`  ${scenarioId.padEnd(idWidth)} ${contender.label.padEnd(9)} ${describe(runs[runs.length - 1] as RunRecord)}  (load ${record.loadAverage})`);
        }
      }
    }
    await admin.flushall();

    const results: CompareResults = {
      benchmark: 'compare',
      date,
      finished: new Date().toISOString(),
      quick: options.quick,
      rounds: options.rounds,
      sizes,
      scenarios: options.scenarios,
      contenders: picked.map((c) => ({ id: c.id, label: c.label, version: c.version })),
      machine: machine(),
      loadAverage: { start: startLoad, end: loadAverage(), maxBeforeRun: Math.max(startLoad, ...runs.map((r) => r.loadAverage)) },
      node: process.version,
      redis,
      git,
      pinning,
      runs,
    };
    console.log(`\n${consoleReport(results)}\n`);

    const name = `compare-${stamp(date)}${options.quick ? '-quick' : ''}.json`;
    writeResultsFile(name, results);
    console.log(`Results: bench/results/${name}`);
    if (options.docs) {
      writeFileSync(DOCS_FILE, markdown(results, `bench/results/${name}`));
      console.log('Docs: docs/benchmarks.md');
    }
    if (runs.some((r) => r.error !== undefined)) process.exitCode = 1;
  } finally {
    await stop();
  }
  if (options.partitions) runPartitions(options.quick);
}

/**
 * bench/partitions.ts in a process of its own, after the comparison's Redis is gone: it starts its own
 * 3-master cluster, and has no counterpart in BullMQ or Bee-Queue (neither spreads a queue over masters).
 */
function runPartitions(quick: boolean): void {
  console.log('\n== one queue over 3 partitions on a local 3-master cluster (bench/partitions.ts)');
  const script = fileURLToPath(new URL('./partitions.ts', import.meta.url));
  const args = quick ? ['--jobs', '3000', '--rounds', '1'] : [];
  const run = spawnSync(process.execPath, ['--import', 'tsx', script, ...args], { stdio: 'inherit' });
  if (run.status !== 0) process.exitCode = 1;
}

try {
  await main();
} catch (error) {
  console.error('bench failed:', error);
  process.exitCode = 1;
}

/**
 * One partitioned queue on a local 3-master Redis Cluster against the same queue unpartitioned: Redis CPU
 * per job on each master (add + process), how evenly the masters are loaded, Redis commands per job, and
 * jobs/s. The cluster is three redis-server processes on loopback (test/harness/redis-cluster.ts); on a
 * 2-core machine they share the cores with the producer and the worker, so total throughput cannot grow
 * with partitions here: what this measures is the per-job cost (does a partition tax exist?) and the
 * spread. The scaling model to 10 and 100 masters is in docs/ARCHITECTURE.md ("Partitioned queues").
 *
 *   npm run bench:partitions -- [--jobs 30000] [--rounds 3] [--concurrency 64] [--partitions 3]
 *
 * Needs redis-server and redis-cli on the PATH. Prints a table and writes bench/results/partitions-<time>.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { Queue, Worker } from 'sluice';
import { startCluster } from '../test/harness/redis-cluster.js';
import { diff, takeSnapshot, type RedisSnapshot } from './redis-stats.js';

const { values } = parseArgs({
  options: {
    jobs: { type: 'string', default: '30000' },
    rounds: { type: 'string', default: '3' },
    concurrency: { type: 'string', default: '64' },
    partitions: { type: 'string', default: '3' },
  },
});
const JOBS = Number(values.jobs);
const ROUNDS = Number(values.rounds);
const CONCURRENCY = Number(values.concurrency);
const PARTITIONS = Number(values.partitions);
/** addBulk calls in flight, each of CHUNK jobs: the producer keeps every partition's master busy. */
const CHUNK = 1000;
const IN_FLIGHT = 4;

interface Run {
  partitions: number;
  jobs: number;
  seconds: number;
  jobsPerSecond: number;
  /** Redis CPU µs per job, all masters together. */
  redisMicrosPerJob: number;
  /** Redis commands per job (scripts and the commands they ran), all masters together. */
  commandsPerJob: number;
  /** Per master, `host:port` -> Redis CPU µs per job of the run spent on that master. */
  perMaster: Record<string, number>;
  /** The busiest master's CPU over the mean of all (1 = perfectly even; 3 = one master of three did everything). */
  busiestOverMean: number;
}

async function snapshots(nodes: readonly Redis[]): Promise<RedisSnapshot[]> {
  return Promise.all(nodes.map((node) => takeSnapshot(node)));
}

async function runOnce(connection: { cluster: { host: string; port: number }[] }, nodes: readonly Redis[], partitions: number, round: number): Promise<Run> {
  const name = `bench-partitions-${partitions}-${round}-${process.pid}`;
  const options = { connection, partitions, redisConfig: 'off' as const, eventsMaxLen: 10_000 };
  const queue = new Queue<{ n: number }>(name, options);
  await queue.add('warm', { n: -1 });
  const worker = new Worker<{ n: number }>(name, async () => undefined, { ...options, concurrency: CONCURRENCY, schedules: false });
  let completed = 0;
  let allDone: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => (allDone = resolve));
  worker.on('completed', () => {
    if (++completed === JOBS + 1) allDone();
  });
  const before = await snapshots(nodes);
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
  const after = await snapshots(nodes);
  const deltas = nodes.map((_, i) => diff(before[i] as RedisSnapshot, after[i] as RedisSnapshot));
  const perMaster: Record<string, number> = {};
  nodes.forEach((node, i) => (perMaster[`${String(node.options.host)}:${String(node.options.port)}`] = (deltas[i]?.cpuMicros ?? 0) / JOBS));
  const cpu = deltas.map((delta) => delta.cpuMicros);
  const mean = cpu.reduce((a, b) => a + b, 0) / cpu.length;
  await worker.close();
  await queue.obliterate();
  await queue.close();
  return {
    partitions,
    jobs: JOBS,
    seconds,
    jobsPerSecond: JOBS / seconds,
    redisMicrosPerJob: cpu.reduce((a, b) => a + b, 0) / JOBS,
    commandsPerJob: deltas.reduce((sum, delta) => sum + delta.commands, 0) / JOBS,
    perMaster,
    busiestOverMean: Math.max(...cpu) / mean,
  };
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

async function main(): Promise<void> {
  const cluster = await startCluster();
  const nodes = cluster.nodes.map((node) => new Redis(node.port, node.host));
  const connection = { cluster: [...cluster.nodes] };
  const runs: Run[] = [];
  try {
    // Taking turns, so a change in the machine's load falls on both.
    for (let round = 0; round < ROUNDS; round++) {
      for (const partitions of [1, PARTITIONS]) {
        const run = await runOnce(connection, nodes, partitions, round);
        runs.push(run);
        console.log(
          `round ${round + 1} partitions ${partitions}: ${run.jobsPerSecond.toFixed(0)} jobs/s, ${run.redisMicrosPerJob.toFixed(1)} Redis µs/job, ` +
            `${run.commandsPerJob.toFixed(2)} commands/job, per master ${Object.values(run.perMaster).map((us) => us.toFixed(1)).join(' / ')} µs/job, ` +
            `busiest/mean ${run.busiestOverMean.toFixed(2)}`,
        );
      }
    }
  } finally {
    for (const node of nodes) node.disconnect();
    await cluster.stop();
  }
  console.log(`\nmedians of ${ROUNDS} rounds, ${JOBS} jobs each, worker concurrency ${CONCURRENCY}:`);
  console.log('| partitions | jobs/s | Redis µs/job (all masters) | commands/job | busiest master / mean |');
  console.log('| ---: | ---: | ---: | ---: | ---: |');
  for (const partitions of [1, PARTITIONS]) {
    const mine = runs.filter((run) => run.partitions === partitions);
    const pick = (f: (run: Run) => number): string => median(mine.map(f)).toFixed(2);
    console.log(`| ${partitions} | ${pick((r) => r.jobsPerSecond)} | ${pick((r) => r.redisMicrosPerJob)} | ${pick((r) => r.commandsPerJob)} | ${pick((r) => r.busiestOverMean)} |`);
  }
  mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
  const file = new URL(`./results/partitions-${new Date().toISOString().replace(/[:.]/g, '-').replace(/-\d+Z$/, 'Z')}.json`, import.meta.url);
  writeFileSync(file, `${JSON.stringify({ jobs: JOBS, rounds: ROUNDS, concurrency: CONCURRENCY, runs }, null, 2)}\n`);
  console.log(`\nwrote ${file.pathname}`);
}

await main();

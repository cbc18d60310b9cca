/**
 * The scaling model of partitioned queues (docs/ARCHITECTURE.md, "Scaling model"), from the runs of
 * bench/partitions.ts named below: no Redis here, only their result files.
 *
 * 1. The check: the model's instructions per job (bench/scaling-model.ts: the unpartitioned run's count
 *    plus PER_CALL for each added script call per job) against callgrind's count, for each run under
 *    callgrind, and whether each is within TOLERANCE.
 * 2. The table: per-master Redis work per job at 1, 3, 10 and 100 partitions, for a worker consuming every
 *    partition and for workers of 2 partitions each, for jobs that return at once and 10 ms jobs. Calls per
 *    job are measured (N partitions on 3 masters make the calls N masters would); instructions per job are
 *    the model's from them; CPU time against the unpartitioned queue is what this machine measured.
 * 3. What an add to an idle queue costs when W workers are blocked on its partitions (the wake-up fan-in),
 *    a calculation from single-Redis instruction counts (not measured on a cluster).
 *
 *   npx tsx bench/partitions-model.ts
 */
import { readFileSync } from 'node:fs';
import { instructionsPerJob, OLD_MODEL, PER_CALL, REFERENCE, TOLERANCE } from './scaling-model.js';

/** What this script reads of a run of bench/partitions.ts. */
interface Run {
  partitions: number;
  perWorker: number;
  scriptCallsPerJob: number;
  redisMicrosPerJob: number;
  instructionsPerJob?: number;
}

interface Results {
  settings: { jobs: number; rounds: number; concurrency: number; jobMs: number; consume: number | 'all'; instructions: boolean; single: boolean };
  machine?: { loadAverage?: { start: number; end?: number } };
  runs: Run[];
}

function load(file: string): Results & { file: string } {
  return { file, ...(JSON.parse(readFileSync(new URL(`./results/${file}`, import.meta.url), 'utf8')) as Results) };
}

/** The runs under callgrind the model is checked against. */
const CHECKS = [
  'partitions-2026-12-06T13-52-39Z.json', // 3 masters, jobs that return at once
  'partitions-2026-12-06T13-43-58Z.json', // 3 masters, 10 ms jobs
  'partitions-2026-12-06T13-47-56Z.json', // one redis-server, jobs that return at once
].map(load);
/** Outside the tolerance, on purpose: one redis-server, concurrency 1, whose extra calls are claims of one job. */
const OUTSIDE = load('partitions-2026-12-06T13-48-54Z.json');
/** The CPU runs the table takes its calls per job (and this machine's CPU ratios) from: workload -> per worker -> file. */
const TABLE = {
  'jobs that return at once': { all: load('partitions-2026-12-06T13-55-35Z.json'), two: load('partitions-2026-12-06T13-45-09Z.json') },
  '10 ms jobs': { all: load('partitions-2026-12-06T13-41-25Z.json'), two: load('partitions-2026-12-06T13-45-30Z.json') },
};

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

/** Each round's runs: bench/partitions.ts runs the unpartitioned queue first in every round, then the partitioned ones. */
function rounds(results: Results): Run[][] {
  const out: Run[][] = [];
  for (const run of results.runs) {
    if (run.partitions === 1) out.push([]);
    out[out.length - 1]?.push(run);
  }
  return out;
}

const pct = (x: number): string => `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)}%`;

// 1. The check.
console.log(`The model: instructions per job = the unpartitioned run's + ${PER_CALL.toLocaleString('en')} per added script call per job; agrees within ${TOLERANCE * 100}%.\n`);
console.log('| run | partitions | script calls/job | instructions/job, measured | model | model vs measured |');
console.log('| --- | ---: | ---: | ---: | ---: | ---: |');
let worst = 0;
for (const results of [...CHECKS, OUTSIDE]) {
  const { settings } = results;
  const label = `${settings.single ? 'one Redis' : '3 masters'}, ${settings.jobMs > 0 ? `${settings.jobMs} ms jobs` : 'return at once'}, concurrency ${settings.concurrency}`;
  for (const round of rounds(results)) {
    const base = round[0] as Run;
    const baseline = { instructionsPerJob: base.instructionsPerJob ?? 0, callsPerJob: base.scriptCallsPerJob };
    for (const run of round.slice(1)) {
      const model = instructionsPerJob(baseline, run.scriptCallsPerJob);
      const off = model / (run.instructionsPerJob ?? 0) - 1;
      if (results !== OUTSIDE) worst = Math.max(worst, Math.abs(off));
      console.log(
        `| ${label} | ${run.partitions} | ${run.scriptCallsPerJob.toFixed(4)} (${base.scriptCallsPerJob.toFixed(4)} unpartitioned) | ${Math.round(run.instructionsPerJob ?? 0).toLocaleString('en')} (${Math.round(base.instructionsPerJob ?? 0).toLocaleString('en')}) | ` +
          `${Math.round(model).toLocaleString('en')} | ${pct(off)}${Math.abs(off) <= TOLERANCE ? '' : ' (outside)'} |`,
      );
    }
  }
}
console.log(`\nlargest deviation of the checked runs: ${(worst * 100).toFixed(1)}% (${worst <= TOLERANCE ? 'within' : 'OUTSIDE'} the ${TOLERANCE * 100}% tolerance)`);

// 2. The table.
for (const [workload, { all, two }] of Object.entries(TABLE)) {
  const { concurrency } = all.settings;
  console.log(`\nPer job on its master, ${workload}: 4 producers' addBulk of 1,000 in flight, workers of concurrency ${concurrency}`);
  console.log('| partitions = masters (N) | partitions per worker (k) | script calls/job (measured) | old model: processing calls/job | instructions/job (model) | vs unpartitioned (model) | old model | CPU vs unpartitioned, this machine | ceiling, all masters |');
  console.log('| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  const unpartitioned = median(rounds(all).map((round) => (round[0] as Run).scriptCallsPerJob));
  const base = instructionsPerJob(REFERENCE, unpartitioned);
  for (const n of [1, 3, 10, 100]) {
    for (const results of n === 1 ? [all] : [all, two]) {
      const runs = rounds(results).map((round) => ({ run: round.find((r) => r.partitions === n), base: round[0] as Run }));
      const found = runs.filter((r): r is { run: Run; base: Run } => r.run !== undefined);
      if (found.length === 0) continue;
      const k = found[0]?.run.perWorker ?? n;
      const calls = median(found.map(({ run }) => run.scriptCallsPerJob));
      const cpu = median(found.map(({ run, base: b }) => run.redisMicrosPerJob / b.redisMicrosPerJob));
      const work = instructionsPerJob(REFERENCE, calls);
      const old = OLD_MODEL.find((row) => row.n === n && row.k === (k === n ? n : 2));
      console.log(
        `| ${n === 1 ? '1 (unpartitioned)' : n} | ${k === n && n > 1 ? `${k} (all)` : k} | ${calls.toFixed(4)} | ${old?.processingCallsPerJob.toFixed(3) ?? ''} | ${Math.round(work).toLocaleString('en')} | ` +
          `${(work / base).toFixed(2)}x | ${old === undefined ? '' : `${old.ratio.toFixed(2)}x`} | ${cpu.toFixed(2)}x | ${((n * base) / work).toFixed(1)}x one master |`,
      );
    }
  }
  const loads = [all, two].map((r) => `${r.file} (load ${r.machine?.loadAverage?.start ?? '?'} to ${r.machine?.loadAverage?.end ?? '?'})`);
  console.log(`from ${loads.join(' and ')}`);
}

// 3. Wake-ups: an add to an idle partition ends the XREAD of every worker blocked on it; each sends a claim,
// one gets the job and the others get EMPTY and block again. Single-Redis instruction counts
// (docs/ARCHITECTURE.md "Redis instructions per job"), not re-measured on a cluster.
const ADD_ONE = 148_300;
const PROCESS_C1 = 429_000;
const EMPTY_CLAIM = 40_000;
/** 146,700 instructions per job were measured as 22.1 µs of Redis CPU per job on this machine. */
const INSTRUCTIONS_PER_MICRO = 146_700 / 22.1;
console.log('\nAn add to an idle queue, W = 100 worker processes, each consuming k partitions:');
console.log('| masters = partitions (N) | k | blocking connections per worker | workers woken per add | Redis µs per idle add |');
console.log('| ---: | ---: | ---: | ---: | ---: |');
for (const n of [1, 3, 10, 100]) {
  for (const k of n === 1 ? [1] : [n, 2]) {
    const woken = (100 * k) / n;
    const micros = (ADD_ONE + (woken - 1) * EMPTY_CLAIM + PROCESS_C1) / INSTRUCTIONS_PER_MICRO;
    console.log(`| ${n} | ${k} | ${k} | ${woken.toFixed(0)} | ${micros.toFixed(0)} |`);
  }
}

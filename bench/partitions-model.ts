/**
 * The scaling model of partitioned queues (docs/ARCHITECTURE.md, "Partitioned queues: scaling model"): what
 * one job costs a master, and what an idle worker's wake-ups cost, at 3, 10 and 100 masters, from the
 * per-call and per-job Redis costs measured on one Redis (callgrind, docs/ARCHITECTURE.md "Redis
 * instructions per job"). A calculation and a small simulation, no Redis:
 *
 * - cost per job on a master = per-job work + per-call work / jobs per call, for the add and for the
 *   claim-and-complete of processing. Jobs per call are what a producer's adds in flight, or a worker's
 *   slots, put on one partition: a producer spreads F adds in flight over all N partitions (F / N each); a
 *   worker of concurrency C that consumes k partitions has about C / k jobs of each in flight.
 * - the simulation runs one worker's claim loops over the shared slots (src/worker/slots.ts: waiters in
 *   order, a slot given back wakes the first) with every partition backlogged, and counts jobs per claim
 *   and claims per job, to check the C / k figure the calculation uses.
 *
 *   npx tsx bench/partitions-model.ts
 */

/** Redis instructions (callgrind, docs/ARCHITECTURE.md): a single add 148,300; adds 200 per call 41,100 per job. */
const ADD_ONE = 148_300;
const ADD_BATCHED = 41_100;
const ADD_CALL = (ADD_ONE - ADD_BATCHED) / (1 - 1 / 200);
const ADD_JOB = ADD_ONE - ADD_CALL;
/** Processing: one complete-and-claim call per job at concurrency 1, 429,000; 102,500 per job at concurrency 64. */
const PROCESS_C1 = 429_000;
const PROCESS_C64 = 102_500;
/** 146,700 instructions per job were measured as 22.1 µs of Redis CPU per job: instructions per µs there. */
const INSTRUCTIONS_PER_MICRO = 146_700 / 22.1;
/** A claim that finds nothing: a call's set-up and an empty reply (an FCALL of an empty function is 10,400). */
const EMPTY_CLAIM = 40_000;

const CONCURRENCY = 64;
const PREFETCH = 64;
/** A job runs about 8 round trips (10 ms against 1.2 ms): what decides how many slots free per round trip. */
const RUN_ROUNDS = 8;
const PRODUCER_IN_FLIGHT = 1000;

/**
 * One worker's processing calls per job with its slots spread over `k` partitions, every partition
 * backlogged. Time goes in round trips; each round, every running job ends with probability 1/RUN_ROUNDS;
 * the completions of each partition leave in one complete call (its Settler); the loops waiting for slots
 * take them in order (src/worker/slots.ts), each claim riding along its partition's complete call when one
 * leaves, else a claim call of its own.
 */
function callsPerJob(k: number, jobs: number): number {
  let free = CONCURRENCY;
  const running: number[] = new Array<number>(k).fill(0);
  const waiters: number[] = Array.from({ length: k }, (_, i) => i);
  let calls = 0;
  let started = 0;
  let seed = 42;
  const random = (): number => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
  while (started < jobs) {
    const completing = new Set<number>();
    for (let p = 0; p < k; p++) {
      let ended = 0;
      for (let j = 0; j < (running[p] ?? 0); j++) if (random() < 1 / RUN_ROUNDS) ended++;
      if (ended > 0) completing.add(p);
      running[p] = (running[p] ?? 0) - ended;
      free += ended;
    }
    calls += completing.size;
    while (free > 0 && waiters.length > 0) {
      const p = waiters.shift() as number;
      const taken = Math.min(PREFETCH, free);
      free -= taken;
      running[p] = (running[p] ?? 0) + taken;
      started += taken;
      if (!completing.has(p)) calls++;
      waiters.push(p);
    }
  }
  return calls / started;
}

// Calibrated on the two measured points: one call per job at concurrency 1, and the simulated calls per
// job of an unpartitioned worker at concurrency 64.
const unpartitioned = callsPerJob(1, 200_000);
const PROCESS_CALL = (PROCESS_C1 - PROCESS_C64) / (1 - unpartitioned);
const PROCESS_JOB = PROCESS_C1 - PROCESS_CALL;

console.log(`calibration: a processing call costs ${PROCESS_CALL.toFixed(0)} instructions and a job ${PROCESS_JOB.toFixed(0)} more; an add call ${ADD_CALL.toFixed(0)} and a job ${ADD_JOB.toFixed(0)} more\n`);
console.log(`Per job on its master (add + process): producers with ${PRODUCER_IN_FLIGHT} adds in flight, workers of concurrency ${CONCURRENCY}:`);
console.log('| masters = partitions (N) | partitions per worker (k) | adds per call | processing calls per job | Redis µs per job | vs unpartitioned | ceiling, all masters |');
console.log('| ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
let base = 0;
for (const n of [1, 3, 10, 100]) {
  const adds = Math.min(200, PRODUCER_IN_FLIGHT / n);
  const add = ADD_JOB + ADD_CALL / adds;
  for (const k of n === 1 ? [1] : [n, 2]) {
    const perJob = callsPerJob(k, 200_000);
    const micros = (add + PROCESS_JOB + PROCESS_CALL * perJob) / INSTRUCTIONS_PER_MICRO;
    if (n === 1) base = micros;
    console.log(
      `| ${n === 1 ? '1 (unpartitioned)' : n} | ${k === n && n > 1 ? `${k} (all)` : k} | ${adds.toFixed(0)} | ${perJob.toFixed(3)} | ${micros.toFixed(1)} | ` +
        `${(micros / base).toFixed(2)}x | ${((n * 1e6) / micros / 1000).toFixed(0)}k jobs/s |`,
    );
  }
}

// Wake-ups: an add to an idle partition ends the XREAD of every worker blocked on it; each sends a claim,
// one gets the job and the others get EMPTY and block again.
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

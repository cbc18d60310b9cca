/**
 * The comparison scenarios. Each runs one contender once, on a freshly flushed Redis, through the
 * contender interface only, and returns what it measured. Redis figures are INFO deltas of the
 * redis-server the bench started, taken around the measured window only (connecting, pre-adding and
 * closing stay outside it); worker processes report completions over IPC, so nothing but the libraries
 * themselves talks to Redis inside the window.
 */
import type { Redis } from 'ioredis';
import { PRIORITY_LEVELS, type BenchJob, type Contender, type Producer } from './contenders/contender.js';
import { diff, takeSnapshot, type RedisDelta } from './redis-stats.js';
import { percentile, round } from './stats.js';
import { WorkerProcess } from './worker-handle.js';
import { preciseNow, type DoneMessage, type SetupMessage } from './worker-protocol.js';

/** Issue 4's figures 1-9, then issue 13's interactive path, figures 10-13. */
export const SCENARIO_IDS = [
  'e2e',
  'drain',
  'add',
  'sleep',
  'latency',
  'delayed',
  'memory',
  'single-add',
  'inflight-add',
  'c1',
  'priority-drain',
] as const;
export type ScenarioId = (typeof SCENARIO_IDS)[number];

/** Jobs per bulk add call, for every contender. */
export const ADD_CHUNK = 1000;
export const E2E_CONCURRENCY = 64;
export const DRAIN_CONCURRENCY = 256;
export const SLEEP_CONCURRENCY = 1000;
export const SLEEP_MS = 10;
export const LATENCY_CONCURRENCY = 1;
export const DELAYED_CONCURRENCY = 64;
/** Adds outstanding at once in the inflight-add scenario, as from an HTTP server under load. */
export const INFLIGHT_ADDS = 100;
export const C1_CONCURRENCY = 1;
export const PRIORITY_CONCURRENCY = 16;
/**
 * Unmeasured single adds before the window of the single-add and inflight-add scenarios: the run's warm-up
 * only exercised the bulk add, and a producer's first single adds run cold code.
 */
export const SINGLE_ADD_WARM_UP = 200;
/** Length of the memory scenario's padding string: job data is { i, pad } with this many characters. */
export const PAYLOAD_BYTES = 100;
/** Pause before each add of the latency scenario, so the worker is back to blocking (ms, plus up to 10 random). */
const LATENCY_GAP_MS = 25;
/** No job completed for this long means a library hung: the run fails instead of waiting forever. */
const STALL_MS = 60_000;

export interface Sizes {
  /** Jobs of the e2e, drain, add, sleep and memory scenarios. */
  readonly jobs: number;
  readonly latencySamples: number;
  /** Unrecorded adds before the latency samples (the worker process starts with cold code). */
  readonly latencyWarmUp: number;
  readonly delayedJobs: number;
  /** Delays are spread evenly over [0, this) ms. */
  readonly delaySpreadMs: number;
  /** Jobs of the single-add scenario (the inflight-add scenario adds `jobs`). */
  readonly singleAddJobs: number;
  /** Jobs of the c1 scenario (drained at concurrency 1). */
  readonly c1Jobs: number;
  /** Jobs of the priority-drain scenario, spread evenly over PRIORITY_LEVELS levels. */
  readonly priorityJobs: number;
}

/** The sizes issue 13's scenarios added; results files written before them lack these. */
export type InteractiveSizes = 'singleAddJobs' | 'c1Jobs' | 'priorityJobs';

export function sizesFor(quick: boolean): Sizes {
  const base = quick
    ? { jobs: 10_000, latencySamples: 50, latencyWarmUp: 5, delayedJobs: 200, delaySpreadMs: 5000 }
    : { jobs: 100_000, latencySamples: 200, latencyWarmUp: 20, delayedJobs: 2000, delaySpreadMs: 5000 };
  const interactive = quick
    ? { singleAddJobs: 1_000, c1Jobs: 1_000, priorityJobs: 2_000 }
    : { singleAddJobs: 10_000, c1Jobs: 10_000, priorityJobs: 20_000 };
  return { ...base, ...interactive };
}

export interface Bench {
  readonly url: string;
  /** The bench's own connection: FLUSHALL and INFO, outside the measured windows only. */
  readonly admin: Redis;
  /** CPU the worker processes are pinned to, or null. */
  readonly nodeCpu: number | null;
  readonly sizes: Sizes;
}

export interface CommandPerJob {
  readonly command: string;
  readonly callsPerJob: number;
  /** Redis' own time per job in this command; a script's (fcall, evalsha) includes the commands it called. */
  readonly usecPerJob: number;
}

export interface RedisCost {
  readonly commands: number;
  readonly commandsPerJob: number;
  readonly cpuMicrosPerJob: number;
  /** Share of one core redis-server used over the window: near 100% means Redis was the bottleneck. */
  readonly cpuPercent: number;
  readonly usedMemoryDelta: number;
  /** Every command with at least 0.001 calls per job, most called first. */
  readonly commandsByJob: readonly CommandPerJob[];
}

/** The figures a scenario yields; which ones depends on the scenario. */
export interface Values {
  jobsPerSecond?: number;
  wallSeconds?: number;
  latencyP50Ms?: number;
  latencyP99Ms?: number;
  latencyMaxMs?: number;
  latenessP50Ms?: number;
  latenessP99Ms?: number;
  latenessMaxMs?: number;
  /** Smallest lateness: negative means a job started before its intended time. */
  latenessMinMs?: number;
  /** Jobs whose handler started before their intended time. */
  earlyJobs?: number;
  /** Mean duration of one bulk add call (delayed scenario: each call's jobs count their delay from some point in it). */
  addCallMs?: number;
  bytesPerJob?: number;
}

export interface Measured {
  readonly jobs: number;
  readonly seconds: number;
  readonly redis: RedisCost;
  readonly values: Values;
  /** CPU of the bench process (the producer) per job, over the window. */
  readonly producerCpuMicrosPerJob?: number;
  /** CPU of the worker process per job, from its start to its last completion. */
  readonly workerCpuMicrosPerJob?: number;
  /** Offset of the worker process' clock from the bench's, measured by ping (ms). */
  readonly clockOffsetMs?: number;
  readonly workerPinned?: boolean | null;
}

export interface Scenario {
  readonly id: ScenarioId;
  readonly title: string;
  /** Why this scenario does not apply to `contender` (it lacks a feature), or undefined when it does. */
  notApplicable?(contender: Contender): string | undefined;
  run(bench: Bench, contender: Contender, queue: string): Promise<Measured>;
}

// -------------------------------------------------------------------------------------------- helpers

function redisCost(delta: RedisDelta, jobs: number, seconds: number): RedisCost {
  return {
    commands: delta.commands,
    commandsPerJob: round(delta.commands / jobs, 3),
    cpuMicrosPerJob: round(delta.cpuMicros / jobs, 2),
    cpuPercent: round((delta.cpuMicros / 1e6 / seconds) * 100, 1),
    usedMemoryDelta: delta.usedMemory,
    commandsByJob: delta.byCommand
      .map((c) => ({ command: c.command, callsPerJob: round(c.calls / jobs, 4), usecPerJob: round(c.usec / jobs, 3) }))
      .filter((c) => c.callsPerJob >= 0.001),
  };
}

interface Window<T> {
  readonly value: T;
  readonly seconds: number;
  readonly delta: RedisDelta;
  readonly producerCpuMicros: number;
}

/** Runs `body` between two INFO snapshots; the snapshots sit outside the timer. */
async function measure<T>(bench: Bench, body: () => Promise<T>): Promise<Window<T>> {
  const before = await takeSnapshot(bench.admin);
  const cpu = process.cpuUsage();
  const start = preciseNow();
  const value = await body();
  const seconds = (preciseNow() - start) / 1000;
  const used = process.cpuUsage(cpu);
  const after = await takeSnapshot(bench.admin);
  return { value, seconds, delta: diff(before, after), producerCpuMicros: used.user + used.system };
}

async function withProducer<T>(bench: Bench, contender: Contender, queue: string, use: (producer: Producer) => Promise<T>): Promise<T> {
  const producer = await contender.openProducer(bench.url, queue);
  try {
    return await use(producer);
  } finally {
    await producer.close();
  }
}

type WorkerSetup = Omit<SetupMessage, 'type' | 'contender' | 'url' | 'queue'>;

async function withWorker<T>(
  bench: Bench,
  contender: Contender,
  queue: string,
  setup: WorkerSetup,
  use: (worker: WorkerProcess) => Promise<T>,
): Promise<T> {
  const worker = await WorkerProcess.spawn(bench.nodeCpu);
  try {
    await worker.setup({ ...setup, contender: contender.id, url: bench.url, queue });
    return await use(worker);
  } finally {
    await worker.close();
  }
}

/** Adds `total` jobs, one bulk call of ADD_CHUNK after another, as a producer would. */
async function addAll(producer: Producer, total: number, make: (i: number) => BenchJob = (i) => ({ data: { i } })): Promise<void> {
  for (let from = 0; from < total; from += ADD_CHUNK) {
    const chunk: BenchJob[] = [];
    for (let i = from; i < Math.min(total, from + ADD_CHUNK); i++) chunk.push(make(i));
    await producer.addBulk(chunk);
  }
}

/**
 * Adds jobs first..end-1 with the single-add call, `inFlight` calls outstanding at once: a new one starts
 * as each resolves. After a failure no new call starts, and the first error rejects.
 */
async function addInFlight(producer: Producer, first: number, end: number, inFlight: number): Promise<void> {
  let next = first;
  let failed = false;
  const lane = async (): Promise<void> => {
    while (next < end && !failed) {
      const i = next++;
      try {
        await producer.add({ data: { i } });
      } catch (error) {
        failed = true;
        throw error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(inFlight, end - first) }, lane));
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Handler start times from the worker, moved onto the bench's clock, by job number. */
function startTimes(done: DoneMessage, worker: WorkerProcess): Map<number, number> {
  return new Map(done.starts.map(([i, at]) => [i, at - worker.clockOffsetMs]));
}

/**
 * Drain scenarios: setup.expected jobs (made by `make`) added first, then the worker process, started
 * inside the window, completes them all. `values` gets the window's seconds.
 */
function addThenProcess(
  bench: Bench,
  contender: Contender,
  queue: string,
  setup: WorkerSetup,
  values: (seconds: number) => Values,
  make?: (i: number) => BenchJob,
): Promise<Measured> {
  const jobs = setup.expected;
  return withWorker(bench, contender, queue, setup, (worker) =>
    withProducer(bench, contender, queue, async (producer) => {
      await addAll(producer, jobs, make);
      const window = await measure(bench, () => {
        worker.start();
        return worker.done(STALL_MS);
      });
      return fromWindow(window, jobs, values(window.seconds), worker, window.value);
    }),
  );
}

/**
 * For jobs first..end-1: handler start (bench clock) minus the job's reference time (when it was added,
 * or meant to run), in ms. Throws when a job has no start time.
 */
function sinceReference(scenario: ScenarioId, started: Map<number, number>, reference: Map<number, number>, first: number, end: number): number[] {
  const ms: number[] = [];
  for (let i = first; i < end; i++) ms.push((started.get(i) ?? Number.NaN) - (reference.get(i) ?? Number.NaN));
  if (ms.some((l) => !Number.isFinite(l))) throw new Error(`${scenario}: a job has no start time`);
  return ms;
}

/** p50, p99 and max of a latency or lateness sample, ms to 2 decimals. */
function tail(ms: readonly number[]): { p50: number; p99: number; max: number } {
  return { p50: round(percentile(ms, 50), 2), p99: round(percentile(ms, 99), 2), max: round(Math.max(...ms), 2) };
}

function fromWindow(window: Window<unknown>, jobs: number, values: Values, worker?: WorkerProcess, done?: DoneMessage): Measured {
  return {
    jobs,
    seconds: round(window.seconds, 3),
    redis: redisCost(window.delta, jobs, window.seconds),
    values,
    producerCpuMicrosPerJob: round(window.producerCpuMicros / jobs, 2),
    ...(done === undefined ? {} : { workerCpuMicrosPerJob: round(done.cpuMicros / jobs, 2) }),
    ...(worker === undefined ? {} : { clockOffsetMs: round(worker.clockOffsetMs, 3), workerPinned: worker.pinned }),
  };
}

// ------------------------------------------------------------------------------------------ scenarios

/** Figures 1-3: a producer bulk-adds while one worker process at concurrency 64 processes. */
const e2e: Scenario = {
  id: 'e2e',
  title: `add + process: producer bulk-adds (x${ADD_CHUNK}) while one worker process at concurrency ${E2E_CONCURRENCY} processes`,
  run: (bench, contender, queue) => {
    const jobs = bench.sizes.jobs;
    const setup: WorkerSetup = { concurrency: E2E_CONCURRENCY, handler: { kind: 'noop' }, expected: jobs, recordStarts: false, notifyEach: false, delayedJobs: false };
    return withWorker(bench, contender, queue, setup, (worker) =>
      withProducer(bench, contender, queue, async (producer) => {
        const window = await measure(bench, async () => {
          worker.start();
          const done = worker.done(STALL_MS);
          // Both awaited together, so a worker failure during the adds is not an unhandled rejection.
          const [finished] = await Promise.all([done, addAll(producer, jobs)]);
          return finished;
        });
        return fromWindow(window, jobs, { jobsPerSecond: Math.round(jobs / window.seconds) }, worker, window.value);
      }),
    );
  },
};

/** Figure 4: jobs added first, then one worker process at concurrency 256 empties the queue. */
const drain: Scenario = {
  id: 'drain',
  title: `drain: jobs added first, then one worker process at concurrency ${DRAIN_CONCURRENCY}`,
  run: (bench, contender, queue) => {
    const jobs = bench.sizes.jobs;
    const setup: WorkerSetup = { concurrency: DRAIN_CONCURRENCY, handler: { kind: 'noop' }, expected: jobs, recordStarts: false, notifyEach: false, delayedJobs: false };
    return addThenProcess(bench, contender, queue, setup, (seconds) => ({ jobsPerSecond: Math.round(jobs / seconds) }));
  },
};

/** Figure 5: bulk adds of 1,000, no worker. */
const add: Scenario = {
  id: 'add',
  title: `bulk add, chunks of ${ADD_CHUNK}, no worker`,
  run: (bench, contender, queue) => {
    const jobs = bench.sizes.jobs;
    return withProducer(bench, contender, queue, async (producer) => {
      const window = await measure(bench, () => addAll(producer, jobs));
      return fromWindow(window, jobs, { jobsPerSecond: Math.round(jobs / window.seconds) });
    });
  },
};

/** Figure 6: jobs that each wait 10 ms, one worker process at concurrency 1,000; ideal: jobs x 10 ms / 1,000. */
const sleepy: Scenario = {
  id: 'sleep',
  title: `${SLEEP_MS} ms jobs: added first, then one worker process at concurrency ${SLEEP_CONCURRENCY}`,
  run: (bench, contender, queue) => {
    const jobs = bench.sizes.jobs;
    const setup: WorkerSetup = {
      concurrency: SLEEP_CONCURRENCY,
      handler: { kind: 'sleep', ms: SLEEP_MS },
      expected: jobs,
      recordStarts: false,
      notifyEach: false,
      delayedJobs: false,
    };
    return addThenProcess(bench, contender, queue, setup, (seconds) => ({ wallSeconds: round(seconds, 3), jobsPerSecond: Math.round(jobs / seconds) }));
  },
};

/**
 * Figure 7: an idle, blocked worker; one job added at a time, the next only after the previous one
 * completed and a short pause (so the worker is blocked again). Latency: add call made -> handler start.
 */
const latency: Scenario = {
  id: 'latency',
  title: `idle worker latency: one job at a time, add -> handler start (worker at concurrency ${LATENCY_CONCURRENCY})`,
  run: (bench, contender, queue) => {
    const { latencySamples: samples, latencyWarmUp: warmUp } = bench.sizes;
    const total = warmUp + samples;
    const setup: WorkerSetup = { concurrency: LATENCY_CONCURRENCY, handler: { kind: 'noop' }, expected: total, recordStarts: true, notifyEach: true, delayedJobs: false };
    return withWorker(bench, contender, queue, setup, (worker) =>
      withProducer(bench, contender, queue, async (producer) => {
        worker.start();
        const addedAt = new Map<number, number>();
        const window = await measure(bench, async () => {
          const done = worker.done(STALL_MS);
          // Rejections of `done` surface through the loop's waits, and it is awaited below.
          done.catch(() => undefined);
          for (let i = 0; i < total; i++) {
            await sleep(LATENCY_GAP_MS + Math.random() * 10);
            addedAt.set(i, preciseNow());
            await producer.add({ data: { i } });
            await worker.untilCompleted(i + 1, STALL_MS);
          }
          return done;
        });
        const latencies = tail(sinceReference('latency', startTimes(window.value, worker), addedAt, warmUp, total));
        return fromWindow(
          window,
          total,
          { latencyP50Ms: latencies.p50, latencyP99Ms: latencies.p99, latencyMaxMs: latencies.max },
          worker,
          window.value,
        );
      }),
    );
  },
};

/**
 * Figure 8: delayed jobs with delays spread evenly over 0-5 s, added in bulk to an idle worker (concurrency
 * 64). Intended run time: Date.now() just before the add call of its chunk + its delay. Lateness: handler
 * start - intended run time.
 */
const delayed: Scenario = {
  id: 'delayed',
  title: `delayed jobs, delays spread evenly over 0-5 s, worker at concurrency ${DELAYED_CONCURRENCY}: lateness of handler start`,
  run: (bench, contender, queue) => {
    const { delayedJobs: jobs, delaySpreadMs: spread } = bench.sizes;
    const setup: WorkerSetup = { concurrency: DELAYED_CONCURRENCY, handler: { kind: 'noop' }, expected: jobs, recordStarts: true, notifyEach: false, delayedJobs: true };
    return withWorker(bench, contender, queue, setup, (worker) =>
      withProducer(bench, contender, queue, async (producer) => {
        worker.start();
        // Let the worker reach its idle, blocked state before the first add.
        await sleep(200);
        const intended = new Map<number, number>();
        const callMs: number[] = [];
        const window = await measure(bench, async () => {
          const done = worker.done(STALL_MS);
          done.catch(() => undefined);
          for (let from = 0; from < jobs; from += ADD_CHUNK) {
            const base = Date.now();
            const chunk: BenchJob[] = [];
            for (let i = from; i < Math.min(jobs, from + ADD_CHUNK); i++) {
              const delayMs = Math.floor((i * spread) / jobs);
              intended.set(i, base + delayMs);
              chunk.push({ data: { i }, delayMs, runAtMs: base + delayMs });
            }
            const called = preciseNow();
            await producer.addBulk(chunk);
            callMs.push(preciseNow() - called);
          }
          return done;
        });
        const lateness = sinceReference('delayed', startTimes(window.value, worker), intended, 0, jobs);
        const late = tail(lateness);
        return fromWindow(
          window,
          jobs,
          {
            latenessP50Ms: late.p50,
            latenessP99Ms: late.p99,
            latenessMaxMs: late.max,
            latenessMinMs: round(Math.min(...lateness), 2),
            earlyJobs: lateness.filter((l) => l < 0).length,
            addCallMs: round(callMs.reduce((a, b) => a + b, 0) / callMs.length, 2),
          },
          worker,
          window.value,
        );
      }),
    );
  },
};

/**
 * Figure 9: used_memory growth from adding jobs with a 100-character string in their data, none
 * processed. One job is first added to another queue, so script loading and such one-time costs fall
 * before the window.
 */
const memory: Scenario = {
  id: 'memory',
  title: `memory per waiting job: data { i, pad } with a ${PAYLOAD_BYTES}-character pad, bulk-added, not processed`,
  run: async (bench, contender, queue) => {
    const jobs = bench.sizes.jobs;
    const pad = 'x'.repeat(PAYLOAD_BYTES);
    await withProducer(bench, contender, `${queue}-warm-up`, (producer) => producer.addBulk([{ data: { i: 0, pad } }]));
    return withProducer(bench, contender, queue, async (producer) => {
      await producer.addBulk([{ data: { i: -1, pad } }]);
      const window = await measure(bench, () => addAll(producer, jobs, (i) => ({ data: { i, pad } })));
      return fromWindow(window, jobs, { bytesPerJob: Math.round(window.delta.usedMemory / jobs), jobsPerSecond: Math.round(jobs / window.seconds) });
    });
  },
};

/**
 * Figure 10 (issue 13's scenarios begin here): `await queue.add()` one at a time, as an HTTP handler adds
 * one job per request, no worker. Producer CPU per add is the bench process's, which does nothing else.
 */
const singleAdd: Scenario = {
  id: 'single-add',
  title: 'single add: `await add()` one at a time, no worker',
  run: (bench, contender, queue) => {
    const jobs = bench.sizes.singleAddJobs;
    return withProducer(bench, contender, queue, async (producer) => {
      for (let i = -SINGLE_ADD_WARM_UP; i < 0; i++) await producer.add({ data: { i } });
      const window = await measure(bench, async () => {
        for (let i = 0; i < jobs; i++) await producer.add({ data: { i } });
      });
      return fromWindow(window, jobs, { jobsPerSecond: Math.round(jobs / window.seconds) });
    });
  },
};

/** Figure 11: single adds from one process, 100 outstanding at once (an HTTP server under load), no worker. */
const inflightAdd: Scenario = {
  id: 'inflight-add',
  title: `single adds, ${INFLIGHT_ADDS} in flight from one process, no worker`,
  run: (bench, contender, queue) => {
    const jobs = bench.sizes.jobs;
    return withProducer(bench, contender, queue, async (producer) => {
      await addInFlight(producer, -SINGLE_ADD_WARM_UP, 0, INFLIGHT_ADDS);
      const window = await measure(bench, () => addInFlight(producer, 0, jobs, INFLIGHT_ADDS));
      return fromWindow(window, jobs, { jobsPerSecond: Math.round(jobs / window.seconds) });
    });
  },
};

/** Figure 12: jobs added first, then one worker process at concurrency 1 (every library's default) drains them. */
const c1: Scenario = {
  id: 'c1',
  title: `concurrency 1: jobs added first, then one worker process at concurrency ${C1_CONCURRENCY}`,
  run: (bench, contender, queue) => {
    const jobs = bench.sizes.c1Jobs;
    const setup: WorkerSetup = { concurrency: C1_CONCURRENCY, handler: { kind: 'noop' }, expected: jobs, recordStarts: false, notifyEach: false, delayedJobs: false };
    return addThenProcess(bench, contender, queue, setup, (seconds) => ({ jobsPerSecond: Math.round(jobs / seconds) }));
  },
};

/**
 * Figure 13: jobs bulk-added with their priority level taking turns (job i on level i mod 3, so the worker
 * has to reorder them), then one worker process at concurrency 16 drains them.
 */
const priorityDrain: Scenario = {
  id: 'priority-drain',
  title: `drain with ${PRIORITY_LEVELS} priority levels in use: jobs added first, then one worker process at concurrency ${PRIORITY_CONCURRENCY}`,
  notApplicable: (contender) => (contender.priorities ? undefined : `${contender.label} has no priorities`),
  run: (bench, contender, queue) => {
    const jobs = bench.sizes.priorityJobs;
    const setup: WorkerSetup = { concurrency: PRIORITY_CONCURRENCY, handler: { kind: 'noop' }, expected: jobs, recordStarts: false, notifyEach: false, delayedJobs: false };
    return addThenProcess(
      bench,
      contender,
      queue,
      setup,
      (seconds) => ({ jobsPerSecond: Math.round(jobs / seconds) }),
      (i) => ({ data: { i }, priority: i % PRIORITY_LEVELS }),
    );
  },
};

export const scenarios: Readonly<Record<ScenarioId, Scenario>> = {
  e2e,
  drain,
  add,
  sleep: sleepy,
  latency,
  delayed,
  memory,
  'single-add': singleAdd,
  'inflight-add': inflightAdd,
  c1,
  'priority-drain': priorityDrain,
};

/**
 * What the comparison bench needs from a job queue library. One adapter per library (sluice.ts,
 * bullmq.ts, bee-queue.ts) implements it with that library's own idiomatic calls; the scenarios only
 * ever talk to this interface, so every library goes through exactly the same steps.
 *
 * The producer side lives in the bench's main process, the worker side in a child process of its own
 * (bench/worker-process.ts): "one worker process" is meant literally.
 */
/** The data of every bench job. Kept small: the figures are the libraries' overhead, not a workload's. */
export interface BenchData {
  /** Sequence number within the run; the worker reports start times by it. */
  readonly i: number;
  /** Padding, for the memory scenario's 100-byte payload. */
  readonly pad?: string;
}

export interface BenchJob {
  readonly data: BenchData;
  /** Run no earlier than this many ms after the add (the library's own `delay` option)... */
  readonly delayMs?: number;
  /**
   * ...which the bench intends to mean this epoch ms. A library whose API takes a point in time (Bee-Queue's
   * delayUntil) gets this one; the others get delayMs and compute their due time from their own clock, at
   * or after the instant this was taken.
   */
  readonly runAtMs?: number;
  /**
   * Priority level, 0 to PRIORITY_LEVELS - 1, 0 running first (sluice's convention); each adapter maps it
   * onto its library's option. Only set for a contender whose `priorities` is true.
   */
  readonly priority?: number;
}

/** Levels the priority scenario uses: sluice's default `priorityLevels`, so its queue needs no option. */
export const PRIORITY_LEVELS = 3;

export interface Producer {
  /** Adds the jobs with the library's bulk call, as one call (the scenarios pass chunks of 1,000). */
  addBulk(jobs: readonly BenchJob[]): Promise<void>;
  /** Adds one job with the library's single-add call. */
  add(job: BenchJob): Promise<void>;
  close(): Promise<void>;
}

export interface WorkerSpec {
  readonly concurrency: number;
  /** The job handler; the adapter wraps it in whatever signature the library wants. */
  readonly handler: (data: BenchData) => Promise<void>;
  /** Called once per job the library reports as completed (after its result was written to Redis). */
  readonly onCompleted: () => void;
  /** Called on any error or failed job the library reports: the run is then invalid. */
  readonly onError: (error: Error) => void;
  /** The run has delayed jobs: switch on what the library needs to promote them (Bee-Queue only). */
  readonly delayedJobs: boolean;
}

export interface BenchWorker {
  /** Starts taking jobs. Before this the worker is connected and ready but takes nothing. */
  start(): void;
  /** Graceful close: running jobs finish, connections close. */
  close(): Promise<void>;
}

export interface Contender {
  /** Stable id used in results and on the command line. */
  readonly id: ContenderId;
  /** Display name. */
  readonly label: string;
  /** Installed version of the library. */
  readonly version: string;
  /** Whether jobs can carry a priority; a scenario that needs one skips a library without (Bee-Queue). */
  readonly priorities: boolean;
  /** Connects a producer to `queue`; resolves once its connection is ready. */
  openProducer(url: string, queue: string): Promise<Producer>;
  /** Connects a worker to `queue` without starting it; resolves once it is ready. */
  openWorker(url: string, queue: string, spec: WorkerSpec): Promise<BenchWorker>;
}

export const CONTENDER_IDS = ['sluice', 'bullmq', 'bee-queue'] as const;
export type ContenderId = (typeof CONTENDER_IDS)[number];

export function isContenderId(value: string): value is ContenderId {
  return (CONTENDER_IDS as readonly string[]).includes(value);
}

export function asError(thrown: unknown): Error {
  return thrown instanceof Error ? thrown : new Error(typeof thrown === 'string' ? thrown : JSON.stringify(thrown));
}

// ------------------------------------------------------------------ sluice's and BullMQ's producer side

/** The options of a bench job as sluice and BullMQ both spell them. */
interface NamedJobOptions {
  readonly delay?: number;
  readonly priority?: number;
}

/** A bench job as sluice and BullMQ both take it: a name, the data, and their `delay` and `priority` options. */
interface NamedJob {
  readonly name: string;
  readonly data: BenchData;
  readonly opts?: NamedJobOptions;
}

/** The producer calls sluice's Queue and BullMQ's Queue share (sluice's follow BullMQ's). */
interface NamedJobQueue {
  addBulk(jobs: NamedJob[]): Promise<unknown>;
  add(name: string, data: BenchData, opts?: NamedJobOptions): Promise<unknown>;
  close(): Promise<void>;
}

/**
 * A Producer over a ready sluice or BullMQ queue: its own addBulk and add calls. `priorityOption` turns a
 * bench level into the library's `priority` value (the two number their levels differently).
 */
export function namedJobProducer(queue: NamedJobQueue, priorityOption: (level: number) => number): Producer {
  const toNamedJob = (job: BenchJob): NamedJob => {
    if (job.delayMs === undefined && job.priority === undefined) return { name: 'bench', data: job.data };
    const opts: { delay?: number; priority?: number } = {};
    if (job.delayMs !== undefined) opts.delay = job.delayMs;
    if (job.priority !== undefined) opts.priority = priorityOption(job.priority);
    return { name: 'bench', data: job.data, opts };
  };
  return {
    addBulk: async (jobs) => {
      await queue.addBulk(jobs.map(toNamedJob));
    },
    add: async (job) => {
      const named = toNamedJob(job);
      await queue.add(named.name, named.data, named.opts);
    },
    close: () => queue.close(),
  };
}

/**
 * What the comparison bench needs from a job queue library. One adapter per library (sluice.ts,
 * bullmq.ts, bee-queue.ts) implements it with that library's own idiomatic calls; the scenarios only
 * ever talk to this interface, so every library goes through exactly the same steps.
 *
 * The producer side lives in the bench's main process, the worker side in a child process of its own
 * (bench/worker-process.ts): "one worker process" is meant literally.
 */
import { readFileSync } from 'node:fs';

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
}

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
  /** Connects a producer to `queue`; resolves once its connection is ready. */
  openProducer(url: string, queue: string): Promise<Producer>;
  /** Connects a worker to `queue` without starting it; resolves once it is ready. */
  openWorker(url: string, queue: string, spec: WorkerSpec): Promise<BenchWorker>;
}

/** The version in a package's package.json: node_modules/<name>/, or the project's own for sluice. */
export function packageVersion(name: string): string {
  const file = name === 'sluice' ? '../../package.json' : `../../node_modules/${name}/package.json`;
  try {
    const parsed: unknown = JSON.parse(readFileSync(new URL(file, import.meta.url), 'utf8'));
    if (typeof parsed === 'object' && parsed !== null && 'version' in parsed && typeof parsed.version === 'string') return parsed.version;
  } catch {
    // reported as unknown below
  }
  return 'unknown';
}

export const CONTENDER_IDS = ['sluice', 'bullmq', 'bee-queue'] as const;
export type ContenderId = (typeof CONTENDER_IDS)[number];

export function isContenderId(value: string): value is ContenderId {
  return (CONTENDER_IDS as readonly string[]).includes(value);
}

export function asError(thrown: unknown): Error {
  return thrown instanceof Error ? thrown : new Error(typeof thrown === 'string' ? thrown : JSON.stringify(thrown));
}

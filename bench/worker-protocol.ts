/**
 * Messages between the bench (parent) and a worker process (bench/worker-process.ts), over Node's IPC
 * channel. None of them touches Redis: the worker counts its completions itself and says so here, so
 * detecting the end of a run adds no command to the Redis figures being measured.
 *
 * A run: child sends `hello` -> parent sends `ping`s (the child answers each with its clock, to find the
 * offset between the two processes' clocks) -> `setup` (the child connects its worker, not taking jobs
 * yet, and answers `ready`) -> `start` -> the child sends `progress` every second, `completed` per job
 * if asked, and `done` once `expected` jobs completed -> `close` (the child closes its worker, sends
 * `closed` and exits).
 */
import type { ContenderId } from './contenders/contender.js';

export type HandlerSpec = { readonly kind: 'noop' } | { readonly kind: 'sleep'; readonly ms: number };

export interface SetupMessage {
  readonly type: 'setup';
  readonly contender: ContenderId;
  readonly url: string;
  readonly queue: string;
  readonly concurrency: number;
  readonly handler: HandlerSpec;
  /** `done` is sent once this many jobs completed. */
  readonly expected: number;
  /** Record when each job's handler started, by BenchData.i, and send them with `done`. */
  readonly recordStarts: boolean;
  /** Send a `completed` message for every job (the latency scenario waits for each). */
  readonly notifyEach: boolean;
  readonly delayedJobs: boolean;
}

export type ToWorker = { readonly type: 'ping'; readonly seq: number } | SetupMessage | { readonly type: 'start' } | { readonly type: 'close' };

export interface DoneMessage {
  readonly type: 'done';
  readonly completed: number;
  /** From `start` to the expected-th completion, on the child's clock. */
  readonly elapsedMs: number;
  /** CPU (user + system) the worker process used from `start` to `done`. */
  readonly cpuMicros: number;
  /** [BenchData.i, handler start in epoch ms on the child's clock], when recordStarts was set. */
  readonly starts: readonly (readonly [number, number])[];
}

export type FromWorker =
  | { readonly type: 'hello'; readonly pid: number }
  | { readonly type: 'pong'; readonly seq: number; readonly now: number }
  | { readonly type: 'ready' }
  | { readonly type: 'progress'; readonly completed: number }
  | { readonly type: 'completed'; readonly completed: number }
  | DoneMessage
  | { readonly type: 'error'; readonly message: string }
  | { readonly type: 'closed' };

/**
 * Epoch milliseconds with sub-millisecond resolution. Both processes read the same system clock, and the
 * ping exchange measures what offset is left between them.
 */
export function preciseNow(): number {
  return performance.timeOrigin + performance.now();
}

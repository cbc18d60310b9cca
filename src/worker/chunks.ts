import { MAX_TIMER_MS } from '../bounds.js';
import { ValidationError } from '../errors.js';
import type { Job } from '../job.js';
import { assertDuration, assertInteger } from '../options.js';
import type { Throttle } from './outbound.js';

/**
 * Chunked handlers (the Worker option `chunk`): the jobs a worker claims are handed to the processor in
 * arrays, and each still settles on its own. The collector sits where a per-job processor would be: every
 * claimed job is started as today (its lease held, its span, its timeout), and its attempt waits for its
 * place in a chunk's result, so nothing of the settle path knows chunks exist.
 */

/**
 * The Worker option `chunk`: how jobs are gathered into one call of a {@link ChunkProcessor}.
 */
export interface ChunkOptions {
  /** Most jobs per call, 1 to 1,000; a chunk leaves as soon as it has this many. */
  size: number;
  /**
   * Longest wait for a chunk to fill, in ms from its first job (0 to 2,147,483,647): then it leaves with what
   * it has. 0 hands over what one claim took.
   *
   * @defaultValue `50`
   */
  maxWaitMs?: number;
}

/** The second argument of a {@link ChunkProcessor}. */
export interface ChunkContext {
  /**
   * Aborts once every job of the chunk was aborted (timed out, lease lost, cancelled): nothing of the chunk
   * is worth finishing then. Made only when read.
   */
  readonly signal: AbortSignal;
  /** The job at `index`'s own signal, as a per-job handler's `ctx.signal`. */
  signalOf(index: number): AbortSignal;
  /**
   * Throws a RateLimitError: every job of the chunk goes back to waiting without using an attempt, and its
   * group (or the queue) starts nothing for `ms`.
   */
  rateLimit(ms: number): never;
  /** As a per-job handler's `ctx.throttle`: through the worker's outbound limiter. */
  throttle<T>(call: () => PromiseLike<T>): Promise<T>;
}

/**
 * A chunked handler: runs one attempt of each job of `jobs` and resolves with one result per job, in the
 * same order. An `Error` in a job's place fails that job's attempt alone (retried per its `attempts`); every
 * other value is that job's result. A rejection fails every job of the chunk, one attempt each
 * (UnrecoverableError fails them for good, RateLimitError gives them back).
 *
 * @typeParam Data - The type of the jobs' data.
 * @typeParam Result - The type of each job's result.
 */
export type ChunkProcessor<Data, Result> = (jobs: Job<Data, Result>[], ctx: ChunkContext) => Promise<(Result | Error)[]>;

/** The chunk option checked, with its default. */
export interface ChunkSettings {
  size: number;
  maxWaitMs: number;
}

export function chunkSettings(chunk: unknown): ChunkSettings {
  if (typeof chunk !== 'object' || chunk === null) throw new ValidationError(`chunk must be { size, maxWaitMs? }, got ${typeof chunk}`);
  const { size, maxWaitMs } = chunk as { size?: unknown; maxWaitMs?: unknown };
  return {
    size: assertInteger('chunk.size', size, 1, 1000),
    maxWaitMs: maxWaitMs === undefined ? 50 : maxWaitMs === 0 ? 0 : assertDuration('chunk.maxWaitMs', maxWaitMs, 0),
  };
}

/** A job's place in a chunk: where its attempt's result goes. */
interface Waiting<Data, Result> {
  job: Job<Data, Result>;
  signal: () => AbortSignal;
  resolve: (result: Result) => void;
  reject: (error: Error) => void;
}

/**
 * Gathers the jobs a Worker starts into chunks and runs the chunk processor on each.
 *
 * States: empty -> gathering (jobs waiting; a timer of maxWaitMs from the first one) -> a chunk leaves when
 * it reaches `size` or the timer fires -> empty. Chunks that left run at once, side by side (the worker's
 * concurrency bounds how many jobs are out in all).
 */
export class ChunkCollector<Data, Result> {
  #pending: Waiting<Data, Result>[] = [];
  #timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly processor: ChunkProcessor<Data, Result>,
    private readonly settings: ChunkSettings,
    private readonly throttle: Throttle,
    private readonly rateLimit: (ms: number) => never,
  ) {}

  /** One job's attempt: resolves or rejects with its place in its chunk's outcome. */
  add(job: Job<Data, Result>, signal: () => AbortSignal): Promise<Result> {
    return new Promise<Result>((resolve, reject) => {
      this.#pending.push({ job, signal, resolve, reject });
      if (this.#pending.length >= this.settings.size) this.#flush();
      else this.#timer ??= setTimeout(() => this.#flush(), Math.min(this.settings.maxWaitMs, MAX_TIMER_MS));
    });
  }

  #flush(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const chunk = this.#pending;
    this.#pending = [];
    if (chunk.length > 0) void this.#run(chunk);
  }

  async #run(chunk: Waiting<Data, Result>[]): Promise<void> {
    let results: unknown;
    try {
      results = await this.processor(
        chunk.map((waiting) => waiting.job),
        chunkContext(chunk, this.throttle, this.rateLimit),
      );
    } catch (thrown) {
      const error = thrown instanceof Error ? thrown : new Error(`chunk processor threw ${String(thrown)}`);
      for (const waiting of chunk) waiting.reject(error);
      return;
    }
    if (!Array.isArray(results) || results.length !== chunk.length) {
      const got = Array.isArray(results) ? `${results.length} results` : typeof results;
      const error = new Error(`the chunk processor returned ${got} for ${chunk.length} jobs; it must return an array with one result (or Error) per job, in order`);
      for (const waiting of chunk) waiting.reject(error);
      return;
    }
    chunk.forEach((waiting, i) => {
      const result: unknown = results[i];
      if (result instanceof Error) waiting.reject(result);
      else waiting.resolve(result as Result);
    });
  }
}

function chunkContext<Data, Result>(chunk: readonly Waiting<Data, Result>[], throttle: Throttle, rateLimit: (ms: number) => never): ChunkContext {
  let all: AbortSignal | undefined;
  return {
    get signal(): AbortSignal {
      all ??= everyAborted(chunk.map((waiting) => waiting.signal()));
      return all;
    },
    signalOf(index: number): AbortSignal {
      const waiting = chunk[index];
      if (waiting === undefined) throw new RangeError(`signalOf(${index}): the chunk has ${chunk.length} jobs`);
      return waiting.signal();
    },
    rateLimit,
    throttle,
  };
}

/** A signal that aborts once every one of `signals` has, with the last one's reason. */
function everyAborted(signals: readonly AbortSignal[]): AbortSignal {
  const controller = new AbortController();
  let left = signals.filter((signal) => !signal.aborted).length;
  const done = (reason: unknown): void => {
    if (--left <= 0) controller.abort(reason);
  };
  if (left === 0) controller.abort(signals.at(-1)?.reason);
  for (const signal of signals) if (!signal.aborted) signal.addEventListener('abort', () => done(signal.reason), { once: true });
  return controller.signal;
}

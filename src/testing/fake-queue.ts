import { ValidationError } from '../errors.js';
import { hasFlowOptions } from '../flows.js';
import { Job, type JobOwner } from '../job.js';
import { validateQueueName } from '../keys.js';
import { withContext } from '../meta.js';
import {
  assertInteger,
  assertJobName,
  compactOptions,
  DEFAULT_PRIORITY_LEVELS,
  MAX_PRIORITY_LEVELS,
  normalizeJobOptions,
  type DefaultJobOptions,
  type JobOptions,
} from '../options.js';
import type { BulkJob, Queue } from '../queue.js';
import { DEFAULT_MAX_PAYLOAD_BYTES } from '../queue-settings.js';
import type { QueueStore } from '../redis/store.js';
import { encode } from '../serializer.js';

/**
 * What producer code needs of a Queue. Type producer functions with it, pass a Queue in production and a
 * FakeQueue in unit tests that must not touch Redis.
 */
export type Producer<Data = unknown, Result = unknown> = Pick<Queue<Data, Result>, 'name' | 'add' | 'addBulk'>;

/** One add a FakeQueue recorded. */
export interface AddedJob<Data> {
  /** The id the add was given: generated ('1', '2', ...) or its `jobId`. */
  readonly id: string;
  /** The job's name. */
  readonly name: string;
  /** The job's data, the very value given (not a decoded copy). */
  readonly data: Data;
  /** The options the add was given, as given (without the queue's defaults), or undefined. */
  readonly opts: JobOptions | undefined;
}

/** The options of a {@link FakeQueue}: the Queue options that change what add() accepts. */
export interface FakeQueueOptions {
  /**
   * As the real Queue's: defaults for every job, validated with it at each add.
   *
   * @defaultValue `{}`
   */
  readonly defaultJobOptions?: DefaultJobOptions;
  /**
   * As the real Queue's: bounds `priority` (1 to 32).
   *
   * @defaultValue `3`
   */
  readonly priorityLevels?: number;
  /**
   * As the real Queue's: bounds the encoded data and options, in bytes.
   *
   * @defaultValue `524288` (512 KiB)
   */
  readonly maxPayloadBytes?: number;
  /**
   * As the real Queue's: what it returns becomes each job's meta (`job.meta`), under the job's own.
   *
   * @defaultValue none
   */
  readonly context?: () => object | undefined;
}

/**
 * A record-only Queue for unit tests of producer code: add() and addBulk() check names, options and data
 * exactly as a Queue does (the same ValidationError for the same bad input, the same payload limit, data
 * that msgpack cannot carry refused), then record the job instead of writing it. Ids are generated as a
 * Queue's are ('1', '2', ...), and a jobId given twice is one job, as in Redis. The Jobs it returns carry
 * what was added; their methods that need Redis (updateProgress, log, waitUntilFinished...) throw.
 */
export class FakeQueue<Data = unknown, Result = unknown> implements Producer<Data, Result> {
  /** The queue's name, validated as a Queue's is. */
  readonly name: string;
  /** Every job added, in order (a repeated jobId once). */
  readonly added: AddedJob<Data>[] = [];
  readonly #defaults: DefaultJobOptions;
  readonly #levels: number;
  readonly #owner: JobOwner;
  readonly #context: (() => object | undefined) | undefined;
  readonly #byJobId = new Map<string, Job<Data, Result>>();
  #next = 1;

  /**
   * A FakeQueue opens no connection: nothing to close.
   *
   * @param name - A queue name, checked as a Queue checks it.
   * @param options - The options that bound what add() accepts.
   * @throws ValidationError (from sluice) for a bad name or option.
   */
  constructor(name: string, options: FakeQueueOptions = {}) {
    this.name = validateQueueName(name);
    this.#defaults = options.defaultJobOptions ?? {};
    this.#context = options.context;
    this.#levels = assertInteger('priorityLevels', options.priorityLevels ?? DEFAULT_PRIORITY_LEVELS, 1, MAX_PRIORITY_LEVELS);
    const maxPayloadBytes = assertInteger('maxPayloadBytes', options.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES, 1);
    const queueName = this.name;
    this.#owner = {
      queueName,
      maxPayloadBytes,
      keepLogs: 0,
      logger: undefined,
      telemetryMeta: [],
      get store(): QueueStore {
        throw new Error(`a FakeQueue ('${queueName}') records jobs and has no Redis: test this with a real Queue (startRedis)`);
      },
    };
  }

  /** The recorded jobs named `name`. */
  jobsNamed(name: string): AddedJob<Data>[] {
    return this.added.filter((job) => job.name === name);
  }

  /** Forgets every recorded job. */
  clear(): void {
    this.added.length = 0;
    this.#byJobId.clear();
  }

  /**
   * Checks the job as Queue.add does and records it in `added`; resolves with a Job in state waiting (or
   * delayed, with `delay` or `runAt`). A `jobId` recorded already resolves with that job and records nothing.
   *
   * @param name - The job's name, 1 to 256 characters.
   * @param data - Any value msgpack can carry, at most `maxPayloadBytes` once encoded.
   * @param opts - The job's options, over `defaultJobOptions`.
   * @throws ValidationError, PayloadTooLargeError or EncodeError (as a rejection), exactly as Queue.add.
   */
  add(name: string, data: Data, opts?: JobOptions): Promise<Job<Data, Result>> {
    try {
      return Promise.resolve(this.#record(name, data, opts));
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
  }

  /**
   * Checks every job as Queue.addBulk does, then records them all; a refused job rejects the call and
   * records none.
   *
   * @param jobs - The jobs, each `{ name, data, opts? }`.
   * @throws ValidationError, PayloadTooLargeError or EncodeError (as a rejection), exactly as Queue.addBulk.
   */
  addBulk(jobs: readonly BulkJob<Data>[]): Promise<Job<Data, Result>[]> {
    try {
      // Every job is checked before any is recorded, as a Queue encodes a whole bulk before writing.
      const checked = jobs.map((job) => this.#check(job.name, job.data, job.opts));
      return Promise.resolve(jobs.map((job, i) => this.#record(job.name, job.data, job.opts, checked[i])));
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
  }

  #check(name: unknown, data: unknown, opts: JobOptions | undefined): ReturnType<typeof normalizeJobOptions> {
    assertJobName(name);
    if (opts !== undefined && typeof opts === 'object' && opts !== null && hasFlowOptions(opts)) {
      throw new ValidationError('FakeQueue records no workflows (dependsOn, onDependencyFailure, onFailure): test those against a real Redis (startRedis)');
    }
    const job = normalizeJobOptions(this.#context === undefined ? opts : withContext(this.#context, opts), this.#defaults, this.#levels);
    encode(data, 'job data', this.#owner.maxPayloadBytes);
    encode(compactOptions(job.stored), 'job options', this.#owner.maxPayloadBytes);
    return job;
  }

  #record(name: string, data: Data, opts: JobOptions | undefined, job = this.#check(name, data, opts)): Job<Data, Result> {
    if (job.jobId !== undefined) {
      const existing = this.#byJobId.get(job.jobId);
      if (existing !== undefined) return existing;
    }
    const id = job.jobId ?? String(this.#next++);
    const now = Date.now();
    const dueAt = job.delay > 0 ? now + job.delay : job.runAt > now ? job.runAt : undefined;
    const created = new Job<Data, Result>(this.#owner, {
      id,
      name,
      data,
      opts: job.stored,
      priority: job.priority,
      attemptsMade: 0,
      attemptsStarted: 0,
      timestamp: now,
      state: dueAt === undefined ? 'waiting' : 'delayed',
      ...(dueAt === undefined ? {} : { dueAt }),
    });
    if (job.jobId !== undefined) this.#byJobId.set(job.jobId, created);
    this.added.push({ id, name, data, opts });
    return created;
  }
}

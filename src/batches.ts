import { assertWellFormed } from './bounds.js';
import { BatchIncompleteError, BulkAddError, ValidationError } from './errors.js';
import { Job, type JobOwner } from './job.js';
import {
  assertInteger,
  assertJobName,
  compactOptions,
  normalizeJobOptions,
  NO_OPTIONS,
  noOptions,
  type DefaultJobOptions,
  type JobOptions,
  type StoredJobOptions,
} from './options.js';
import type { BatchStore, CallbackInput, MemberInput, OpenInput, StoredCallback } from './redis/batch-store.js';
import type { BatchAddReply } from './redis/replies.js';
import { Status } from './redis/status.js';
import type { AddInput } from './redis/store.js';
import { encode } from './serializer.js';
import type { StoredTraceContext } from './telemetry/trace-context.js';
import type { ProducerSpans } from './telemetry/tracing.js';

/**
 * Batches in Sidekiq's meaning: a set of jobs with a callback job that is enqueued exactly once when every
 * member has settled. The state of a batch is one hash of counters in Redis (lua/includes/batches.lua), and
 * each member carries its batch's id in its stored options; no list of members exists, so a batch of a
 * million jobs costs Redis what a million jobs cost, plus one hash.
 *
 * A batch's life: open -> members added (any number of calls, from any number of producers) -> sealed ->
 * done (nothing pending: the callbacks fire, in the script of the last settle, or of the seal when every
 * member settled before it) -> its hash expires `keepFor` seconds later. Members are added by their own
 * script (batch-add), never through `queue.add`: the add script then stays as it was for every other job.
 */

/** A callback job: enqueued in the batch's queue when the batch is done, with the totals in its data. */
export interface BatchCallback {
  /** The callback job's name, 1 to 256 characters. */
  name: string;
  /**
   * A plain object; the callback job's data is this object with `batchId`, `total`, `completed` and `failed`
   * ({@link BatchTotals}) added. It may not have those keys.
   *
   * @defaultValue `{}`: the totals alone
   */
  data?: Record<string, unknown>;
  /**
   * Job options for the callback job, over the Queue's `defaultJobOptions`: not `jobId` (its id is
   * generated), `delay` or `runAt` (it runs when the batch is done), `dedupe`, `labels` or the workflow options.
   *
   * @defaultValue none: the Queue's `defaultJobOptions` alone
   */
  opts?: Omit<JobOptions, 'jobId' | 'delay' | 'runAt' | 'dedupe' | 'labels' | 'dependsOn' | 'onDependencyFailure' | 'onFailure'>;
}

/** How a batch is opened (queue.openBatch, queue.addBatch). */
export interface BatchOptions {
  /**
   * The batch's id: 1 to 128 bytes of UTF-8, not all digits (those are generated).
   *
   * @defaultValue a generated number, from the queue's id counter
   */
  id?: string;
  /**
   * Enqueued exactly once, when the batch is sealed and every member has completed or failed for good.
   *
   * @defaultValue none: no such callback
   */
  onComplete?: BatchCallback;
  /**
   * Enqueued exactly once, when the batch is sealed and every member has completed: with onComplete when none
   * failed, later when failed members were retried by hand and completed, never while one stays failed.
   *
   * @defaultValue none: no such callback
   */
  onSuccess?: BatchCallback;
  /**
   * Seconds the batch's record is kept once nothing is pending, 1 to 31,536,000; then getBatch returns
   * undefined.
   *
   * @defaultValue 86400 (a day, as completed jobs are kept)
   */
  keepFor?: number;
}

/** What a callback job's data holds besides the user's own data. */
export interface BatchTotals {
  /** The batch's id. */
  batchId: string;
  /** Members added. */
  total: number;
  /** Members completed when the callback was enqueued. */
  completed: number;
  /** Members failed for good (or removed before they ran) when the callback was enqueued. */
  failed: number;
}

/** One callback of a batch, as getBatch reports it. */
export interface BatchCallbackStatus {
  /** The callback job's name. */
  name: string;
  /** Whether the callback job was enqueued; it is enqueued at most once. */
  fired: boolean;
  /** The callback job's id once it was enqueued. */
  jobId: string | undefined;
}

/** A batch as Redis holds it: every count as of one read, exact. */
export interface BatchStatus {
  /** The batch's id. */
  id: string;
  /** Members added so far. */
  total: number;
  /** Members not completed nor failed for good yet (waiting, delayed, running, waiting out a retry). */
  pending: number;
  /** Members completed. */
  completed: number;
  /** Members failed for good, and members removed before they settled. */
  failed: number;
  /** Whether the batch was sealed: nothing can be added to it. */
  sealed: boolean;
  /** When it was opened (Redis' clock). */
  createdAt: Date;
  /** When it was sealed. */
  sealedAt: Date | undefined;
  /** When nothing was pending in the sealed batch for the first time: when its callbacks fired. */
  doneAt: Date | undefined;
  /** Its onComplete callback, undefined when it has none. */
  onComplete: BatchCallbackStatus | undefined;
  /** Its onSuccess callback, undefined when it has none. */
  onSuccess: BatchCallbackStatus | undefined;
}

/**
 * A member's options: a job's, without `jobId` (members' ids are generated), `dedupe`, `labels` and the
 * workflow options (the script that adds members keeps none of their indexes).
 */
export type BatchJobOptions = Omit<JobOptions, 'jobId' | 'dedupe' | 'labels' | 'dependsOn' | 'onDependencyFailure' | 'onFailure'>;

/** One member of `batch.addBulk` or `queue.addBatch`: the arguments of add as an object. */
export interface BatchJob<Data> {
  /** The job's name, 1 to 256 characters. */
  name: string;
  /** The job's data. */
  data: Data;
  /**
   * The member's own options, over the Queue's `defaultJobOptions`.
   *
   * @defaultValue none: the Queue's `defaultJobOptions` alone
   */
  opts?: BatchJobOptions;
}

/** Job options neither a member nor a callback takes: the scripts that write them keep no such index. */
const NOT_IN_BATCHES = ['jobId', 'dedupe', 'labels', 'dependsOn', 'onDependencyFailure', 'onFailure'] as const;

/** The first option of `opts` a batch does not take, or undefined. */
function refused(opts: unknown, also: readonly string[] = []): string | undefined {
  if (typeof opts !== 'object' || opts === null) return undefined;
  return [...NOT_IN_BATCHES, ...also].find((key) => key in opts);
}

/** Members per batch-add call, as add's ADD_CHUNK (adder.ts): one call stays near a millisecond of Redis. */
const CHUNK = 200;
/** batch-add calls in flight at once while a big bulk is written: enough to keep Redis busy, a bounded buffer. */
const WINDOW = 8;
const DEFAULT_KEEP_SECONDS = 86_400;
const MAX_KEEP_SECONDS = 365 * 86_400;
const MAX_ID_BYTES = 128;
const TOTALS_KEYS = ['batchId', 'total', 'completed', 'failed'] as const;
const OPTION_NAMES = new Set(['id', 'onComplete', 'onSuccess', 'keepFor']);

/** What the batches need of their Queue: its checks and encodings, its readiness and its spans. */
export interface BatchHost {
  readonly owner: JobOwner;
  readonly store: BatchStore;
  readonly levels: number;
  readonly defaults: DefaultJobOptions;
  readonly maxPayloadBytes: number;
  readonly spans: ProducerSpans;
  /** Validates and encodes one job as add does (QueueAdding.prepare). */
  prepare(name: unknown, data: unknown, opts: JobOptions | undefined, trace: StoredTraceContext | undefined): { input: AddInput; stored: StoredJobOptions };
  /** Waits for a reachable Redis and a set-up queue, as an add does. */
  ready(): Promise<void>;
  /** After writes: WAIT for replicas when the queue asks for durability (throws ReplicationError). */
  replicated(): Promise<void>;
  /** Whether the queue exists (a read creates nothing). */
  inspect(): Promise<boolean>;
  /** Runs a call that writes as one close() waits for (ClosedError once closed). */
  join<T>(call: () => Promise<T>): Promise<T>;
}

interface Prepared {
  members: MemberInput[];
  stored: StoredJobOptions[];
  data: unknown[];
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** A batch id given by a user, or to queue.batch / getBatch. */
export function validateBatchId(id: unknown, what: string): string {
  if (typeof id !== 'string' || id.length === 0 || Buffer.byteLength(id) > MAX_ID_BYTES) {
    throw new ValidationError(`${what} must be a string of 1 to ${MAX_ID_BYTES} bytes, got ${JSON.stringify(id)}`);
  }
  assertWellFormed(what, id, 'two ids could be one batch');
  return id;
}

/**
 * The batches of one Queue: open, add to, seal and read them. The Queue makes it on first use, so a Queue
 * that never uses batches costs nothing for them.
 */
export class Batches<Data, Result> {
  constructor(private readonly host: BatchHost) {}

  /** A handle on batch `id` for adding members and sealing, with no I/O (another producer's batch, say). */
  handle(id: string): Batch<Data, Result> {
    return new Batch(this, validateBatchId(id, 'batch id'));
  }

  open(options: BatchOptions | undefined): Promise<Batch<Data, Result>> {
    return this.host.join(() => this.#open(options));
  }

  async #open(options: BatchOptions | undefined): Promise<Batch<Data, Result>> {
    const { id, open } = this.#openInput(options);
    await this.host.ready();
    const reply = await this.host.store.add(id, [], { open, seal: false }, 0);
    await this.host.replicated();
    return new Batch(this, this.#accepted(reply, id).batch);
  }

  /**
   * A whole batch: opened with the first 200 members, the rest added 200 per call (8 calls in flight), and
   * sealed with the last 200 once all the others were written, so a batch that Redis failed to take whole
   * stays open instead of firing on a part. Up to 200 members are one atomic call.
   */
  addAll(jobs: readonly BatchJob<Data>[], options: BatchOptions | undefined): Promise<Batch<Data, Result>> {
    return this.host.join(() => this.#addAll(jobs, options));
  }

  async #addAll(jobs: readonly BatchJob<Data>[], options: BatchOptions | undefined): Promise<Batch<Data, Result>> {
    const given: unknown = jobs;
    if (!Array.isArray(given)) throw new ValidationError('addBatch takes an array of { name, data, opts }');
    const { id, open } = this.#openInput(options);
    const called = performance.now();
    const spans = this.host.spans.start(jobs.length);
    try {
      const prepared = this.#prepareAll(jobs, (i) => spans.traceContext(i), 'addBatch');
      await this.host.ready();
      const chunks = chunked(prepared.members);
      const last = chunks.length - 1;
      const first = this.#accepted(await this.host.store.add(id, chunks[0] ?? [], { open, seal: last <= 0 }, performance.now() - called), id);
      const batch = first.batch;
      if (last > 0) {
        const failed: { index: number; error: Error }[] = [];
        let added = (chunks[0] ?? []).length;
        const write = async (k: number, seal: boolean): Promise<void> => {
          try {
            this.#accepted(await this.host.store.add(batch, chunks[k] ?? [], { seal }, performance.now() - called), batch);
            added += (chunks[k] ?? []).length;
          } catch (error) {
            for (let i = 0; i < (chunks[k] ?? []).length; i++) failed.push({ index: k * CHUNK + i, error: error as Error });
          }
        };
        await windowed(last - 1, (k) => write(k + 1, false));
        if (failed.length === 0) await write(last, true);
        else for (let i = last * CHUNK; i < jobs.length; i++) failed.push({ index: i, error: failed[0]?.error as Error });
        if (failed.length > 0) throw new BatchIncompleteError(batch, added, failed, jobs.length);
      }
      await this.host.replicated();
      spans.end(undefined);
      return new Batch(this, batch);
    } catch (error) {
      spans.end(undefined, error);
      throw error;
    }
  }

  /** Members added to an open batch: validated and encoded all before anything is written, 200 per call. */
  addMembers(batch: string, jobs: readonly BatchJob<Data>[], what: string): Promise<Job<Data, Result>[]> {
    return this.host.join(() => this.#addMembers(batch, jobs, what));
  }

  async #addMembers(batch: string, jobs: readonly BatchJob<Data>[], what: string): Promise<Job<Data, Result>[]> {
    const called = performance.now();
    const spans = this.host.spans.start(jobs.length);
    try {
      const prepared = this.#prepareAll(jobs, (i) => spans.traceContext(i), what);
      await this.host.ready();
      const chunks = chunked(prepared.members);
      const out: (Job<Data, Result>[] | undefined)[] = [];
      const failed: { index: number; error: Error }[] = [];
      await windowed(chunks.length, async (k) => {
        const chunk = chunks[k] ?? [];
        try {
          const reply = this.#accepted(await this.host.store.add(batch, chunk, { seal: false }, performance.now() - called), batch);
          out[k] = chunk.map((member, i) => this.#job(reply.first + i, member, prepared, k * CHUNK + i, batch));
        } catch (error) {
          for (let i = 0; i < chunk.length; i++) failed.push({ index: k * CHUNK + i, error: error as Error });
        }
      });
      const added = out.flatMap((jobs) => jobs ?? []);
      // Every call refused or failed: nothing was written, and the first call's own error says it best.
      const firstError = failed.sort((a, b) => a.index - b.index)[0]?.error;
      if (firstError !== undefined && added.length === 0) throw firstError;
      if (failed.length > 0) throw new BulkAddError(added, failed, jobs.length);
      await this.host.replicated();
      spans.end(added);
      return added;
    } catch (error) {
      spans.end(undefined, error);
      throw error;
    }
  }

  seal(batch: string): Promise<void> {
    return this.host.join(async () => {
      await this.host.ready();
      this.#accepted(await this.host.store.add(batch, [], { seal: true }, 0), batch);
      await this.host.replicated();
    });
  }

  async status(batch: string): Promise<BatchStatus | undefined> {
    validateBatchId(batch, 'getBatch id');
    if (!(await this.host.inspect())) return undefined;
    const stored = await this.host.store.get(batch);
    if (stored === null) return undefined;
    const date = (ms: number | undefined): Date | undefined => (ms === undefined ? undefined : new Date(ms));
    const callback = (c: StoredCallback | undefined): BatchCallbackStatus | undefined =>
      c === undefined ? undefined : { name: c.name, fired: c.jobId !== undefined, jobId: c.jobId };
    return {
      id: batch,
      total: stored.total,
      pending: stored.pending,
      completed: stored.total - stored.failed - stored.pending,
      failed: stored.failed,
      sealed: stored.sealed,
      createdAt: new Date(stored.createdAt),
      sealedAt: date(stored.sealedAt),
      doneAt: date(stored.doneAt),
      onComplete: callback(stored.onComplete),
      onSuccess: callback(stored.onSuccess),
    };
  }

  /** The batch options checked and encoded; throws before anything is sent. */
  #openInput(options: BatchOptions | undefined): { id: string; open: OpenInput } {
    if (options !== undefined && !isPlainObject(options)) throw new ValidationError(`batch options must be an object, got ${typeof options}`);
    const given = options ?? {};
    for (const key of Object.keys(given)) {
      if (!OPTION_NAMES.has(key)) throw new ValidationError(`unknown batch option '${key}'; known ones are: ${[...OPTION_NAMES].join(', ')}`);
    }
    let id = '';
    if (given.id !== undefined) {
      id = validateBatchId(given.id, 'batch id');
      if (/^\d+$/.test(id)) throw new ValidationError(`batch id '${id}' is all digits; such ids are generated. Prefix it, e.g. 'run-${id}'`);
    }
    const keep = given.keepFor === undefined ? DEFAULT_KEEP_SECONDS : assertInteger('keepFor', given.keepFor, 1, MAX_KEEP_SECONDS);
    return {
      id,
      open: { keep, onComplete: this.#callback(given.onComplete, 'onComplete'), onSuccess: this.#callback(given.onSuccess, 'onSuccess') },
    };
  }

  #callback(callback: unknown, what: string): CallbackInput | undefined {
    if (callback === undefined) return undefined;
    if (!isPlainObject(callback)) throw new ValidationError(`${what} must be { name, data?, opts? }, got ${typeof callback}`);
    for (const key of Object.keys(callback)) {
      if (key !== 'name' && key !== 'data' && key !== 'opts') throw new ValidationError(`${what} has an unknown field '${key}'; use { name, data?, opts? }`);
    }
    assertJobName(callback.name);
    const data = callback.data ?? {};
    if (!isPlainObject(data)) throw new ValidationError(`${what}.data must be a plain object (the totals are added to it), got ${Array.isArray(data) ? 'an array' : typeof data}`);
    for (const key of TOTALS_KEYS) {
      if (Object.hasOwn(data, key)) throw new ValidationError(`${what}.data may not have '${key}': the callback's data gets the batch's ${TOTALS_KEYS.join(', ')}`);
    }
    const opts: unknown = callback.opts;
    const bad = refused(opts, ['delay', 'runAt']);
    if (bad !== undefined) {
      throw new ValidationError(`${what}.opts may not set '${bad}': a callback job runs when its batch is done, with an id of its own, and is enqueued as a plain job`);
    }
    const job = normalizeJobOptions(opts as JobOptions | undefined, this.host.defaults, this.host.levels);
    const compact = compactOptions(job.stored);
    return {
      name: callback.name,
      data: encode(data, `${what} data`, this.host.maxPayloadBytes),
      opts: noOptions(compact) ? NO_OPTIONS : encode(compact, `${what} options`, this.host.maxPayloadBytes),
      prio: job.priority,
      group: job.stored.group ?? '',
    };
  }

  #prepareAll(jobs: readonly BatchJob<Data>[], trace: (i: number) => StoredTraceContext | undefined, what: string): Prepared {
    const given: unknown = jobs;
    if (!Array.isArray(given)) throw new ValidationError(`${what} takes an array of { name, data, opts }`);
    const prepared: Prepared = { members: [], stored: [], data: [] };
    jobs.forEach((job, i) => {
      if (typeof job !== 'object' || job === null) throw new ValidationError(`${what}: item ${i} is not an object`);
      const bad = refused(job.opts);
      if (bad === 'jobId') throw new ValidationError(`${what}: item ${i} sets jobId; a batch member's id is generated (its batch counts it once, whatever adds it)`);
      if (bad !== undefined) throw new ValidationError(`${what}: item ${i} sets '${bad}', which a batch member cannot have: the script that adds members keeps no such index; add it with add()`);
      const { input, stored } = this.host.prepare(job.name, job.data, job.opts, trace(i));
      prepared.members.push({ name: input.name, data: input.data, opts: input.opts, prio: input.prio, delay: input.delay, runAt: input.runAt, group: input.group });
      prepared.stored.push(stored);
      prepared.data.push(job.data);
    });
    return prepared;
  }

  #job(id: number, member: MemberInput, prepared: Prepared, index: number, batch: string): Job<Data, Result> {
    const now = Date.now();
    return new Job<Data, Result>(this.host.owner, {
      id: String(id),
      name: member.name,
      data: prepared.data[index] as Data,
      opts: { ...(prepared.stored[index] as StoredJobOptions), batch },
      priority: member.prio,
      attemptsMade: 0,
      attemptsStarted: 0,
      timestamp: now,
      state: member.delay > 0 || member.runAt > now ? 'delayed' : 'waiting',
    });
  }

  /** The reply of a call that wrote, or the ValidationError that says why nothing was written. */
  #accepted(reply: BatchAddReply, id: string): { batch: string; first: number } {
    switch (reply.status) {
      case Status.OK:
        return reply;
      case Status.BATCH_EXISTS:
        throw new ValidationError(`batch '${id}' exists; give another id, or add to it with queue.batch('${id}')`);
      case Status.BATCH_MISSING:
        throw new ValidationError(`there is no batch '${id}': open it first (queue.openBatch), or it was done and its record expired (keepFor)`);
      case Status.BATCH_SEALED:
        throw new ValidationError(`batch '${id}' is sealed: nothing can be added to it, and it cannot be sealed again`);
      default:
        throw new ValidationError(`a priority of batch '${id}' is not a level of this queue; it was created with other priorityLevels`);
    }
  }
}

/**
 * A handle on one batch (queue.openBatch, queue.addBatch, queue.batch): add members to it from any producer,
 * seal it, read it.
 *
 * @typeParam Data - The type of the members' data.
 * @typeParam Result - The type of what their handlers return.
 */
export class Batch<Data = unknown, Result = unknown> {
  readonly #batches: Batches<Data, Result>;
  /** The batch's id. */
  readonly id: string;

  /** @internal Made by a Queue (openBatch, addBatch, batch), not by users. */
  constructor(batches: Batches<Data, Result>, id: string) {
    this.#batches = batches;
    this.id = id;
  }

  /**
   * Adds one member.
   *
   * @param name - The job's name, 1 to 256 characters.
   * @param data - The job's data.
   * @param opts - Its options, over the Queue's `defaultJobOptions`.
   * @returns The member's Job.
   * @throws {@link ValidationError} when the batch is sealed or unknown, or an option is not acceptable;
   * nothing is written.
   */
  async add(name: string, data: Data, opts?: BatchJobOptions): Promise<Job<Data, Result>> {
    const [job] = await this.#batches.addMembers(this.id, [{ name, data, ...(opts === undefined ? {} : { opts }) }], 'batch.add');
    return job as Job<Data, Result>;
  }

  /**
   * Adds members: all validated and encoded before anything is written, then 200 per script call, each
   * call atomic.
   *
   * @param jobs - The members.
   * @returns Their Jobs, in input order.
   * @throws {@link ValidationError} when the batch is sealed or unknown, or a member is not acceptable;
   * nothing is written.
   * @throws {@link BulkAddError} when Redis failed after some calls were written: `added` and `failed` say
   * which.
   */
  addBulk(jobs: readonly BatchJob<Data>[]): Promise<Job<Data, Result>[]> {
    return this.#batches.addMembers(this.id, jobs, 'batch.addBulk');
  }

  /**
   * Seals the batch: no member can be added after this. When every member settled already, its callbacks
   * are enqueued now, in the same script.
   *
   * @throws {@link ValidationError} when the batch is sealed already, or unknown.
   */
  seal(): Promise<void> {
    return this.#batches.seal(this.id);
  }

  /**
   * The batch's counts, as `queue.getBatch`.
   *
   * @returns Its status, or undefined once its record expired.
   */
  getStatus(): Promise<BatchStatus | undefined> {
    return this.#batches.status(this.id);
  }
}

function chunked<T>(items: readonly T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += CHUNK) out.push(items.slice(i, i + CHUNK));
  return out;
}

/** Runs task(0) ... task(count - 1), at most WINDOW at once. */
async function windowed(count: number, task: (k: number) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < count) await task(next++);
  };
  await Promise.all(Array.from({ length: Math.min(WINDOW, count) }, lane));
}

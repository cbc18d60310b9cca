import { Adder, type AddOutcome, type AddReply } from './adder.js';
import { addDeduped } from './deduplicated-add.js';
import { BulkAddError, ClosedError, ReplicationError, ValidationError } from './errors.js';
import { Batches } from './batches.js';
import { Flows } from './flows.js';
import { Job, type JobOwner } from './job.js';
import { queueKeys } from './keys.js';
import { packLabels } from './labels.js';
import { withContext } from './meta.js';
import {
  compactOptions,
  NO_OPTIONS,
  noOptions,
  normalizeJobOptions,
  TRACE_CONTEXT_KEY,
  TRACE_LINKS_KEY,
  TRACE_PASS_KEY,
  type DefaultJobOptions,
  type EncodedJobOptions,
  type JobOptions,
  type StoredJobOptions,
} from './options.js';
import { notForPartitions, type QueuePartitions } from './partitions/queue-partitions.js';
import type { Durability } from './queue-settings.js';
import type { Reachability } from './redis/reachability.js';
import { BatchStore } from './redis/batch-store.js';
import { QueueStore, type AddInput } from './redis/store.js';
import { encode } from './serializer.js';
import type { StoredTraceContext } from './telemetry/trace-context.js';
import type { ProducerSpans } from './telemetry/tracing.js';

/** A job validated and encoded for the add script, with its options as its Job shows them. */
export interface Prepared {
  input: AddInput;
  stored: StoredJobOptions;
}

/** One job of addBulk: the arguments of add as an object (Queue's `BulkJob`). */
interface BulkInput<Data> {
  name: string;
  data: Data;
  opts?: JobOptions;
}

/** What the add path needs of its Queue: the Queue itself (the owner of the Jobs it makes) and its state. */
export interface AddingContext<Data, Result> {
  readonly owner: JobOwner;
  readonly name: string;
  readonly store: QueueStore;
  readonly levels: number;
  readonly defaults: DefaultJobOptions;
  readonly maxPayloadBytes: number;
  readonly context: (() => unknown) | undefined;
  readonly durability: Durability | undefined;
  readonly reachability: Reachability;
  readonly spans: ProducerSpans;
  /** With `partitions` > 1: the partitions, which the add path hands its jobs to (made after this). */
  parts(): QueuePartitions<Data, Result, Prepared> | undefined;
  /** Whether close() was called. */
  closed(): boolean;
  /** QueueSetUp.init: checks the queue against Redis and creates it, once. */
  init(): Promise<void>;
  /** For the Adder: undefined once the queue is set up, else the set-up without the closed check (adds handed to the Adder before close() are still sent). */
  pending(): Promise<void> | undefined;
  /** QueueSetUp.inspect: checks the queue but creates nothing; resolves whether it exists. */
  inspect(): Promise<boolean>;
  /** For the Jobs and stores of flows and batches: the Queue's settings. */
  readonly prefix: string;
  readonly eventsMaxLen: number;
}

/**
 * The add path of a Queue (add, addBulk, the prepared adds of partitions, batches and flows): validates and
 * encodes jobs, hands them to the Adder (adder.ts), makes their Jobs, and counts the calls close() waits for.
 */
export class QueueAdding<Data, Result> {
  readonly #q: AddingContext<Data, Result>;
  readonly #adder: Adder;
  /** add and addBulk calls whose jobs joined the Adder and are not answered yet; close() waits for them. */
  #joinedCalls = 0;
  #allAnswered: (() => void) | undefined;
  /** The add input and options of a job added without options: normalized once. */
  readonly #plain: Prepared;
  #flows: Flows | undefined;
  readonly #owners = new Map<string, JobOwner>();
  #batches: Batches<Data, Result> | undefined;

  constructor(q: AddingContext<Data, Result>) {
    this.#q = q;
    this.#plain = this.prepareOptions(undefined, undefined);
    // Shared by the Job of every job added without options, as reads share DEFAULT_STORED.
    Object.freeze(this.#plain.stored);
    this.#adder = new Adder(q.store, { ready: () => q.pending(), durability: q.durability });
  }

  /** Queue.add without flow options. */
  async add(name: string, data: Data, opts: JobOptions | undefined): Promise<Job<Data, Result>> {
    const called = performance.now();
    const spans = this.#q.spans.start(1);
    try {
      const prepared = this.prepare(name, data, opts, spans.traceContext(0));
      const [job] = prepared.stored.dedupe === undefined ? await this.submit([prepared.input], [prepared], [data], called) : [await this.#addDeduped(prepared, called)];
      spans.end([job as Job<Data, Result>]);
      const logger = this.#q.owner.logger;
      if (logger?.isLevelEnabled('debug') === true) logger.debug({ queue: this.#q.name, count: 1, jobId: job?.id }, 'jobs added');
      return job as Job<Data, Result>;
    } catch (error) {
      spans.end(undefined, error);
      throw error;
    }
  }

  /** Queue.addBulk. */
  async addBulk(jobs: readonly BulkInput<Data>[]): Promise<Job<Data, Result>[]> {
    const called = performance.now();
    const parts = this.#q.parts();
    // One send span per call (plus a create span per job for a bulk); see telemetry/tracing.ts.
    const spans = this.#q.spans.start(Array.isArray(jobs) ? jobs.length : 0);
    try {
      // Checked through `unknown`: Array.isArray would narrow a readonly array to any[].
      const given: unknown = jobs;
      if (!Array.isArray(given)) throw new ValidationError('addBulk takes an array of { name, data, opts }');
      const prepared = jobs.map((job, i) => {
        if (typeof job !== 'object' || job === null) throw new ValidationError(`addBulk: item ${i} is not an object`);
        const one = this.prepare(job.name, job.data, job.opts, spans.traceContext(i));
        if (one.stored.dedupe !== undefined) throw new ValidationError(`addBulk: item ${i} has the dedupe option; add such jobs with add()`);
        // The label index lives in one partition's slot; labels are not kept across partitions yet.
        if (parts !== undefined && one.stored.labels !== undefined) throw notForPartitions(this.#q.name, parts.count, 'labels');
        return one;
      });
      const added = await this.submit(
        prepared.map((p) => p.input),
        prepared,
        jobs.map((job) => job.data),
        called,
      );
      spans.end(added);
      const logger = this.#q.owner.logger;
      if (logger?.isLevelEnabled('debug') === true) {
        logger.debug({ queue: this.#q.name, count: added.length, ...(added.length === 1 ? { jobId: added[0]?.id } : {}) }, 'jobs added');
      }
      return added;
    } catch (error) {
      spans.end(undefined, error);
      throw error;
    }
  }

  /**
   * Validates and encodes one job; throws before anything is sent. A job without options (most of them)
   * reuses the queue's default options, normalized and encoded once in the constructor.
   */
  prepare(name: unknown, data: unknown, opts: JobOptions | undefined, trace: StoredTraceContext | undefined): Prepared {
    if (typeof name !== 'string' || name.length === 0 || name.length > 256) {
      throw new ValidationError(`job name must be a string of 1 to 256 characters, got ${JSON.stringify(name)}`);
    }
    const context = this.#q.context;
    const options = context === undefined ? opts : withContext(context, opts);
    const { input, stored } = options === undefined && trace === undefined ? this.#plain : this.prepareOptions(options, trace);
    const encoded = encode(data, 'job data', this.#q.maxPayloadBytes);
    return {
      input: { jobId: input.jobId, name, data: encoded, opts: input.opts, prio: input.prio, delay: input.delay, runAt: input.runAt, group: input.group, labels: input.labels },
      stored,
    };
  }

  /** prepare for a flow's job (flows.ts FlowHost.prepare): `links`, `levels` and `passes` as it says. */
  prepareFlowJob(
    name: unknown,
    data: unknown,
    opts: JobOptions | undefined,
    trace: StoredTraceContext | undefined,
    links: StoredTraceContext[] | undefined,
    levels: number | undefined,
    passes = false,
  ): Prepared {
    if (links === undefined && levels === undefined && !passes) return this.prepare(name, data, opts, trace);
    // A job of another queue (its levels), or one that waits for others in a traced flow (their contexts)
    // or that others wait for (the pass).
    const { input } = this.prepare(name, data, undefined, undefined);
    const context = this.#q.context;
    const merged = context === undefined ? opts : withContext(context, opts);
    const { input: options, stored } = this.prepareOptions(merged, trace, links, levels, passes);
    return { input: { ...options, name: input.name, data: input.data }, stored };
  }

  /** A job's options, validated and encoded; the input's name and data are left empty for prepare. */
  prepareOptions(opts: JobOptions | undefined, trace: StoredTraceContext | undefined, links?: StoredTraceContext[], levels = this.#q.levels, passes = false): Prepared {
    const job = normalizeJobOptions(opts, this.#q.defaults, levels);
    const compact = compactOptions(job.stored);
    const stored = trace === undefined ? compact : traced(compact, trace, links, passes);
    const input = {
      jobId: job.jobId ?? '',
      name: '',
      data: NO_OPTIONS,
      opts: noOptions(stored) ? NO_OPTIONS : encode(stored, 'job options', this.#q.maxPayloadBytes),
      prio: job.priority,
      delay: job.delay,
      runAt: job.runAt,
      group: job.stored.group ?? '',
      labels: job.stored.labels === undefined ? undefined : packLabels(job.stored.labels),
    };
    return { input, stored: job.stored };
  }

  /** Sends prepared jobs through the Adder and makes their Jobs; `data[i]` is job i's data as given. */
  async submit(inputs: AddInput[], prepared: readonly Prepared[], data: readonly Data[], called: number): Promise<Job<Data, Result>[]> {
    const q = this.#q;
    const parts = q.parts();
    if (parts !== undefined) {
      if (q.closed()) throw new ClosedError(`Queue '${q.name}'`);
      return parts.submit(inputs, prepared, data, called);
    }
    // Each call waits for a connection that is down on its own, bounded by offlineTimeout and
    // maxOfflineCalls, before it joins a batch: a call that gives up was never sent.
    const offline = q.reachability.whenReady();
    if (offline !== undefined) await offline;
    if (q.closed()) throw new ClosedError(`Queue '${q.name}'`);
    if (prepared.length === 0) {
      await q.init();
      await this.replicated();
      return [];
    }
    // From here on the call is close()'s to wait for: its jobs may already be in a batch.
    this.#joinedCalls++;
    try {
      return await this.#joined(this.#adder.add(inputs, called), prepared, data);
    } finally {
      if (--this.#joinedCalls === 0) this.#allAnswered?.();
    }
  }

  async #joined(reply: Promise<AddReply>, prepared: readonly Prepared[], data: readonly Data[]): Promise<Job<Data, Result>[]> {
    const { outcomes, replicated } = await reply;
    const failed: { index: number; error: Error }[] = [];
    const out: Job<Data, Result>[] = [];
    for (let i = 0; i < outcomes.length; i++) {
      const outcome = outcomes[i] as AddOutcome;
      if ('error' in outcome) {
        failed.push({ index: i, error: outcome.error });
        continue;
      }
      if (outcome.duplicate) {
        // Read through the store, not getJob(): a close() that began meanwhile waits for this call.
        const existing = await this.#q.store.getJob(outcome.id);
        if (existing !== null) {
          const job = Job.fromStored<Data, Result>(this.#q.owner, existing);
          job.deduplicated = true;
          out.push(job);
          continue;
        }
      }
      const { input, stored } = prepared[i] as Prepared;
      out.push(this.#fresh(outcome.id, data[i] as Data, input, stored, outcome.spent));
    }
    // Every call failed: nothing of this call was written (or, on a timeout, nothing is known), so the
    // call's own error says it best.
    if (failed.length === outcomes.length && failed[0] !== undefined) throw failed[0].error;
    if (failed.length > 0) throw new BulkAddError(out, failed, outcomes.length);
    this.#checkReplicated(replicated);
    return out;
  }

  /** An add with the dedupe option: its own script call (deduplicated-add.ts), which close() waits for as for the others. */
  async #addDeduped(prepared: Prepared, called: number): Promise<Job<Data, Result>> {
    const offline = this.#q.reachability.whenReady();
    if (offline !== undefined) await offline;
    await this.#q.init();
    this.#joinedCalls++;
    try {
      const job = await addDeduped<Data, Result>(this.#q.owner, prepared.input, prepared.stored.dedupe as NonNullable<StoredJobOptions['dedupe']>, performance.now() - called);
      await this.replicated();
      return job;
    } finally {
      if (--this.#joinedCalls === 0) this.#allAnswered?.();
    }
  }

  /** With durability: waits for the replicas (WAIT) and throws when they were not confirmed. */
  async replicated(): Promise<void> {
    const durability = this.#q.durability;
    if (durability !== undefined) this.#checkReplicated(await this.#q.store.waitForReplicas(durability.replicas, durability.timeoutMs));
  }

  /** Throws when durability asked for replicas and WAIT did not confirm them (or failed). */
  #checkReplicated(replicated: number | Error | undefined): void {
    if (replicated === undefined || this.#q.durability === undefined) return;
    if (replicated instanceof Error) throw replicated;
    const { replicas, timeoutMs } = this.#q.durability;
    if (replicated < replicas) throw new ReplicationError(replicated, replicas, timeoutMs);
  }

  #fresh(id: string, data: Data, input: AddInput, stored: StoredJobOptions, spent: number): Job<Data, Result> {
    const now = Date.now();
    const delayed = input.delay > spent || input.runAt > now;
    return new Job<Data, Result>(this.#q.owner, {
      id,
      name: input.name,
      data,
      opts: stored,
      priority: input.prio,
      attemptsMade: 0,
      attemptsStarted: 0,
      timestamp: now,
      state: delayed ? 'delayed' : 'waiting',
    });
  }

  /** A call close() waits for, as it waits for adds handed to the Adder. */
  async joinCall<T>(call: () => Promise<T>): Promise<T> {
    if (this.#q.closed()) throw new ClosedError(`Queue '${this.#q.name}'`);
    this.#joinedCalls++;
    try {
      return await call();
    } finally {
      if (--this.#joinedCalls === 0) this.#allAnswered?.();
    }
  }

  /** For close(): resolves once every call already joined is answered; undefined when none is waiting. */
  answered(): Promise<void> | undefined {
    if (this.#joinedCalls === 0) return undefined;
    return new Promise<void>((resolve) => {
      this.#allAnswered = resolve;
    });
  }

  /** The flows of this queue (src/flows.ts), made on first use. */
  flows(): Flows {
    const q = this.#q;
    const owner = q.owner;
    this.#flows ??= new Flows({
      name: q.name,
      queueName: q.name,
      store: q.store,
      maxPayloadBytes: owner.maxPayloadBytes,
      keepLogs: owner.keepLogs,
      logger: owner.logger,
      telemetryMeta: owner.telemetryMeta,
      spans: q.spans,
      prepare: (name, data, opts, trace, links, levels, passes) => this.prepareFlowJob(name, data, opts, trace, links, levels, passes),
      ready: () => q.init(),
      levelsOf: (queue) => q.store.levelsOf(queue),
      ownerFor: (queue, levels) => this.#ownerFor(queue, levels),
      clustered: q.store.clustered,
    });
    return this.#flows;
  }

  /** What a Job of another queue of this prefix (added by a flow) needs: that queue's store on this connection. */
  #ownerFor(queue: string, levels: number): JobOwner {
    let owner = this.#owners.get(queue);
    if (owner === undefined) {
      const { maxPayloadBytes, keepLogs, logger, telemetryMeta } = this.#q.owner;
      const store = new QueueStore(this.#q.store.client, queueKeys(queue, this.#q.prefix, levels), this.#q.eventsMaxLen);
      owner = { queueName: queue, store, maxPayloadBytes, keepLogs, logger, telemetryMeta };
      this.#owners.set(queue, owner);
    }
    return owner;
  }

  /** The batches of this queue (src/batches.ts), made on first use. */
  batches(): Batches<Data, Result> {
    const q = this.#q;
    this.#batches ??= new Batches<Data, Result>({
      owner: q.owner,
      store: new BatchStore(q.store.client, q.store.keys, q.eventsMaxLen),
      levels: q.levels,
      defaults: q.defaults,
      maxPayloadBytes: q.maxPayloadBytes,
      spans: q.spans,
      prepare: (name, data, opts, trace) => this.prepare(name, data, opts, trace),
      ready: async () => {
        const offline = q.reachability.whenReady();
        if (offline !== undefined) await offline;
        await q.init();
      },
      replicated: () => this.replicated(),
      inspect: () => q.inspect(),
      join: (call) => this.joinCall(call),
    });
    return this.#batches;
  }
}

/** A traced job's stored options: its creation context, its flow dependencies' (`links`) and the pass. */
function traced(compact: EncodedJobOptions, trace: StoredTraceContext, links: StoredTraceContext[] | undefined, passes: boolean): EncodedJobOptions {
  const stored: EncodedJobOptions = { ...compact, [TRACE_CONTEXT_KEY]: trace };
  if (links !== undefined) stored[TRACE_LINKS_KEY] = links;
  if (passes) stored[TRACE_PASS_KEY] = 1;
  return stored;
}

import { EventEmitter, captureRejectionSymbol } from 'node:events';
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { BackoffError, backoffDelay, type BackoffStrategy } from './backoff.js';
import { MAX_TIMER_MS } from './bounds.js';
import { checkRedisConfig, type RedisConfigCheck } from './durability.js';
import {
  ClosedError,
  ConfigMismatchError,
  DecodeError,
  LeaseLostError,
  RateLimitError,
  RedisConfigError,
  UnrecoverableError,
  ValidationError,
} from './errors.js';
import { dependencyTraces } from './dependencies.js';
import { Job, type JobOwner } from './job.js';
import { queueKeys } from './keys.js';
import { trackOpen, untrackOpen } from './open-handles.js';
import { KEEP_ALL, MAX_TRACE_LINKS } from './options.js';
import { queueSettings } from './queue-settings.js';
import { closeConnection, connect, connectBlocking, disconnectNow, type Connection, type RedisClient } from './redis/connection.js';
import { Status } from './redis/status.js';
import { BlockingReads } from './redis/blocking-reads.js';
import type { ClaimedJob } from './redis/job-fields.js';
import type { ClaimResult } from './redis/replies.js';
import { QueueStore, type CompleteInput, type FailInput } from './redis/store.js';
import { encode } from './serializer.js';
import type { Logger } from './telemetry/logger.js';
import { runInSpan, storedSpanContext, type Span } from './telemetry/tracing.js';
import { observeQueueDepth } from './telemetry/metrics.js';
import { WorkerTelemetry, type JobOutcome } from './telemetry/worker-telemetry.js';
import type { AttemptSignal } from './worker/attempt-signal.js';
import { withTimeout } from './worker/attempt-timeout.js';
import { ClaimGate } from './worker/claim-gate.js';
import { Heartbeat } from './worker/heartbeat.js';
import { assertMiddleware, compose, type Middleware } from './worker/middleware.js';
import { CancelWatch } from './worker/cancel-watch.js';
import { ControlStore } from './redis/control-store.js';
import { HandoffWait } from './worker/handoff.js';
import { IdleWait, type IdleClaim } from './worker/idle-wait.js';
import { Leases } from './worker/leases.js';
import { outboundThrottle, type Throttle } from './worker/outbound.js';
import { Reaper } from './worker/reaper.js';
import { RelayLoop } from './worker/relay-loop.js';
import { FlowRelay } from './flows-relay.js';
import { RunningJobs, type Running } from './worker/running-jobs.js';
import { ScheduleStore } from './redis/schedule-store.js';
import { ScheduleRunner } from './schedules/runner.js';
import { SandboxPool, sandboxFile } from './worker/sandbox/pool.js';
import { Settler, type Settled } from './worker/settler.js';
import type { Processor, ProcessorContext, WorkerEventMap } from './worker/contract.js';
import { asError, failureTexts } from './worker/thrown.js';
import { workerSettings, type ChunkWorkerOptions, type WorkerOptions } from './worker/settings.js';
import { ChunkCollector, chunkSettings, type ChunkProcessor } from './worker/chunks.js';
import { innerOptions, once } from './partitions/inner.js';
import { queueDepth, shareMover, workerPartitions } from './partitions/worker-partitions.js';
import type { ShareMover } from './partitions/shares.js';

export type { WorkerOptions, ChunkWorkerOptions } from './worker/settings.js';
export type { ChunkOptions, ChunkContext, ChunkProcessor } from './worker/chunks.js';
export type { Middleware } from './worker/middleware.js';
export type { Processor, ProcessorContext, WorkerEventMap } from './worker/contract.js';

/** Delayed jobs promoted per claim call at most; the rest follow on the next claims. */
const PROMOTE_LIMIT = 1000;
const MAX_IDLE_BACKOFF = 5000;

/**
 * Runs a queue's jobs.
 *
 * States: created -> running (claim loop) -> closing (no new claims; running jobs finish and settle)
 * -> closed. The claim loop: claim up to the free slots (one script call, many jobs; or, when completions
 * are about to leave, inside their complete call) -> start each job -> when nothing is ready, block on
 * Redis (XREAD on the level streams and ctl) until an add, a resume, the next delayed job's due time, or
 * blockTimeout. A job: run the handler (inside its middleware) -> settle through the Settler (completions
 * and failures of one event-loop turn share one script call) -> emit. While paused (worker.pause()), or
 * with every slot taken, the loop parks instead of claiming (ClaimGate); running jobs go on.
 *
 * A Worker opens two connections: one for commands and one for its blocking waits. It also fires the
 * queue's recurring schedules (option `schedules`) and recovers stalled jobs. Call `close()` on shutdown
 * (SIGTERM): running jobs finish and settle first.
 *
 * @typeParam Data - The type of the jobs' data.
 * @typeParam Result - The type of what the processor returns.
 */
export class Worker<Data = unknown, Result = unknown> extends EventEmitter<WorkerEventMap<Data, Result>> implements JobOwner {
  /** The queue's name, as given to the constructor. */
  readonly name: string;
  /** @internal The queue's typed script verbs (src/redis/store.ts), for Job and tests. */
  readonly store: QueueStore;
  /** The `maxPayloadBytes` option in effect, in bytes: the limit on return values and progress. */
  readonly maxPayloadBytes: number;
  /** The `keepLogs` option in effect: newest log lines kept per job, 0 for all. */
  readonly keepLogs: number;
  /** The `logger` option, if one was given: the parent of every `job.logger` of this worker's jobs. */
  readonly logger: Logger | undefined;
  /** The `telemetryMeta` option in effect: the meta keys its log lines and process spans show. */
  readonly telemetryMeta: readonly string[];
  /** This worker's consumer name in Redis: the `id` of queue.getWorkers() and the jobs' `processedBy`. */
  readonly consumer: string;
  readonly #processor: Processor<Data, Result>;
  readonly #sandbox: SandboxPool | undefined;
  /** The processor inside the middleware (use()): the processor itself while there is none. */
  #handler: Processor<Data, Result>;
  readonly #middleware: Middleware<Data, Result>[] = [];
  /** When its loops may claim, and its one pool of slots: shared by the loops of a partitioned Worker. */
  readonly #gate: ClaimGate;
  readonly #levels: number;
  readonly #strategies: Record<string, BackoffStrategy>;
  readonly #throttle: Throttle;
  readonly #redisConfig: RedisConfigCheck;
  readonly #connection: Connection;
  readonly #blocking: RedisClient;
  readonly #idle: IdleWait;
  readonly #settler: Settler;
  readonly #leases: Leases;
  readonly #cancels: CancelWatch;
  readonly #reaper: Reaper;
  /** A partitioned Worker's rebalancer of the queue's limit shares (the outer Worker's only). */
  readonly #shares: ShareMover | undefined;
  /** On a Redis Cluster: relays this queue's notes to jobs of other queues (src/flows-relay.ts). */
  readonly #relay: RelayLoop | undefined;
  readonly #schedules: ScheduleRunner | undefined;
  readonly #telemetry: WorkerTelemetry;
  readonly #stopQueueMetrics: (() => void) | undefined;
  readonly #running = new RunningJobs();
  /** Slots taken by the claim in flight (at most one is), or kept by a registration for a handoff. */
  #reserved = 0;
  readonly #handoff: HandoffWait;
  /** Who emits this worker's events: itself, or the partitioned Worker that made it. */
  readonly #events: EventEmitter;
  /** With partitions: the Workers of the other partitions this one consumes (src/partitions/worker-partitions.ts). */
  readonly #siblings: Worker<Data, Result>[] = [];
  /** The Redis config check before the first claim; a partitioned Worker's loops share one. */
  readonly #checkConfig: () => Promise<void>;
  #loop: Promise<void> | undefined;
  #closing: Promise<void> | undefined;

  /**
   * Validates the options, opens its two connections and, unless `autorun` is false, starts claiming
   * jobs at once. The first claim checks the queue's settings against Redis (the `redisConfig` check,
   * `priorityLevels`): a failure there is reported on `error`, and a {@link RedisConfigError} or
   * {@link ConfigMismatchError} stops the claim loop (close() still works).
   *
   * @param name - The queue's name, as given to the Queue.
   * @param processor - An async function `(job, ctx) => result` run in this process, or the absolute path
   *   (or file URL) of a module whose default export is one, run in a sandbox (the `sandbox` option).
   * @param options - {@link WorkerOptions}; `connection` is required.
   * @throws {@link ValidationError} when the name, the processor or an option is not acceptable.
   */
  constructor(name: string, processor: Processor<Data, Result> | string | URL, options: WorkerOptions);
  /**
   * A worker whose processor takes the jobs in chunks (`options.chunk`): see {@link ChunkProcessor}. Each job
   * is claimed, leased, timed and settled on its own, as with a per-job processor.
   *
   * @param name - The queue's name, as given to the Queue.
   * @param processor - An async function `(jobs, ctx) => results`, one result (or Error) per job, in order.
   * @param options - {@link ChunkWorkerOptions}: {@link WorkerOptions} with `chunk`; `concurrency` defaults
   *   to `chunk.size` and may not be smaller.
   * @throws {@link ValidationError} when the name, the processor or an option is not acceptable.
   */
  constructor(name: string, processor: ChunkProcessor<Data, Result>, options: ChunkWorkerOptions);
  constructor(name: string, processor: Processor<Data, Result> | ChunkProcessor<Data, Result> | string | URL, options: WorkerOptions | ChunkWorkerOptions) {
    // An async listener's rejection is reported as a throwing listener is ([captureRejectionSymbol]).
    super({ captureRejections: true });
    if (options?.chunk !== undefined) {
      // A chunked processor is called with arrays: it goes behind a collector that takes jobs one by one.
      const chunk = chunkSettings(options.chunk);
      if (typeof processor !== 'function') {
        throw new ValidationError(`new Worker('${String(name)}', processor, { chunk }): a chunk processor must be an async function (jobs, ctx) => results; a sandboxed file takes one job at a time`);
      }
      options = { ...options, concurrency: options.concurrency ?? chunk.size };
      if ((options.concurrency ?? 1) < chunk.size) {
        throw new ValidationError(`concurrency (${String(options.concurrency)}) must be at least chunk.size (${chunk.size}), or no chunk could fill`);
      }
      const collector = new ChunkCollector(processor as ChunkProcessor<Data, Result>, chunk, outboundThrottle(options.outbound), rateLimit);
      const perJob: Processor<Data, Result> = (job, ctx) => collector.add(job, () => ctx.signal);
      processor = perJob;
    }
    if (typeof processor === 'string' || processor instanceof URL) {
      const pool = new SandboxPool(sandboxFile(`new Worker('${String(name)}', processor, options)`, processor), options?.sandbox);
      this.#sandbox = pool;
      const sandboxed: Processor<Data, Result> = (job, ctx) => pool.run(job, ctx) as Promise<Result>;
      processor = sandboxed;
    }
    if (typeof processor !== 'function') {
      throw new ValidationError(`new Worker('${String(name)}', processor, options): processor must be an async function (job, ctx) => result`);
    }
    if (typeof options !== 'object' || options === null || options.connection === undefined) {
      throw new ValidationError(`new Worker('${String(name)}', processor, options) needs options.connection`);
    }
    const settings = queueSettings(options);
    const { inner, count, index, consumed } = workerPartitions(options, settings.partitions);
    const keys = queueKeys(name, settings.prefix, settings.levels, { index, count });
    const { concurrency, prefetch, prefetchGiven, stalledTimeout, maxStalled, stalledInterval, heartbeat, blockTimeout, flowPartTimeout } = workerSettings(options);
    this.#gate = inner?.gate ?? new ClaimGate(concurrency, prefetch, prefetchGiven);
    this.#strategies = { ...options.backoffStrategies };
    this.#throttle = outboundThrottle(options.outbound);
    this.#redisConfig = settings.redisConfig;
    this.#processor = processor as Processor<Data, Result>;
    this.#handler = this.#processor;
    this.#levels = settings.levels;
    this.name = name;
    this.maxPayloadBytes = settings.maxPayloadBytes;
    this.keepLogs = settings.keepLogs;
    this.consumer = inner?.consumer ?? `${options.name ?? hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
    this.logger = options.logger;
    this.telemetryMeta = settings.telemetryMeta;
    this.#telemetry = new WorkerTelemetry(name, this.consumer, options.logger, settings.telemetryMeta);

    this.#connection = inner === undefined ? connect(options.connection) : { client: inner.client, owned: false };
    this.#blocking = connectBlocking(options.connection);
    this.#events = inner?.events ?? this;
    this.#checkConfig = inner?.checkConfig ?? once(() => checkRedisConfig(this.store, this.#redisConfig, `Worker '${this.name}'`));
    this.store = new QueueStore(this.#connection.client, keys, settings.eventsMaxLen);
    const onError = (error: Error): void => this.#report(error);
    // Flows refuse partitioned queues, so only a whole queue on a Cluster has an outbox to relay.
    if (this.store.clustered && count === 1) {
      const relay = new FlowRelay(this.#connection.client, settings.prefix, settings.eventsMaxLen);
      this.#relay = new RelayLoop(relay, name, stalledInterval, flowPartTimeout, onError);
    }
    this.#settler = new Settler(this.store, { consumer: this.consumer, promoteLimit: PROMOTE_LIMIT }, () => this.#relay?.kick());
    this.#idle = new IdleWait(new BlockingReads(this.#blocking, this.#connection.client, keys), keys, blockTimeout, onError);
    this.#handoff = new HandoffWait(keys.wake(this.consumer), blockTimeout, count === 1);
    this.#cancels = new CancelWatch(ControlStore.of(this.store));
    const presence = inner?.presence ?? (() => ({ concurrency: this.#gate.concurrency, running: this.running, paused: this.#gate.paused }));
    this.#leases = new Leases(this.store, this.consumer, new Heartbeat(heartbeat), presence, (lost) => this.#onLost(lost), onError, this.#cancels);
    this.#reaper = new Reaper(this.store, `${this.consumer}:reaper`, stalledTimeout, maxStalled, stalledInterval, onError);
    // Schedules live on partition 0 (src/partitions/queue-partitions.ts): fired by the loop that consumes it.
    if (options.schedules !== false && index === 0) {
      const schedules = new ScheduleStore(this.#connection.client, keys, settings.eventsMaxLen);
      this.#schedules = new ScheduleRunner(schedules, (fired) => this.#notify('scheduleFired', fired), onError);
    }
    this.#shares = inner === undefined ? shareMover(name, settings, count, this.#connection.client, this.consumer, heartbeat, onError) : undefined;
    if (options.queueMetrics === true && inner === undefined) this.#stopQueueMetrics = observeQueueDepth(name, queueDepth(name, settings, count, this.store));
    if (inner === undefined) {
      const shared = { count, client: this.#connection.client, gate: this.#gate, events: this, consumer: this.consumer, presence, checkConfig: this.#checkConfig };
      // The siblings run the processor as made here (a chunk's collector, a sandbox's pool: shared across
      // the partitions), so they get it without the options that made it.
      const { chunk: _chunk, sandbox: _sandbox, ...perJob } = options as ChunkWorkerOptions;
      for (const other of consumed.slice(1)) {
        this.#siblings.push(new Worker<Data, Result>(name, this.#processor, innerOptions({ ...perJob, autorun: false }, { ...shared, index: other })));
      }
    }
    trackOpen(this, `Worker '${name}' (${this.consumer})`);
    if (options.autorun !== false) void this.run();
  }

  /** The queue's name: the same as `name`. */
  get queueName(): string {
    return this.name;
  }

  /** Jobs whose handler is running right now. */
  get running(): number {
    return this.#siblings.reduce((sum, sibling) => sum + sibling.running, this.#running.size);
  }

  /** Jobs this worker runs at once (with partitions, over all the partitions it consumes). */
  get concurrency(): number {
    return this.#gate.concurrency;
  }

  /**
   * Changes how many jobs this worker runs at once, while it runs (1 to 100,000). Raised, it claims for the
   * new slots at once; lowered, running jobs finish and no job starts until fewer than the new number run.
   * A prefetch left to its default follows it. With partitions, its loops share the one number.
   *
   * @throws {@link ValidationError} when `value` is not an integer from 1 to 100,000.
   */
  set concurrency(value: number) {
    this.#gate.concurrency = value;
  }

  /** Whether this worker is paused (worker.pause()); the queue's own pause is queue.pause(). */
  get isPaused(): boolean {
    return this.#gate.paused;
  }

  /**
   * Adds middleware around the handler: the first added runs outermost (src/worker/middleware.ts). Add it
   * before jobs run (autorun: false, then run()), or jobs already started run without it.
   */
  use(middleware: Middleware<Data, Result>): this {
    assertMiddleware(middleware);
    this.#middleware.push(middleware);
    this.#handler = compose(this.#middleware, this.#processor);
    for (const sibling of this.#siblings) sibling.use(middleware);
    return this;
  }

  /**
   * This worker stops claiming jobs; the jobs it runs go on and settle. Resolves once no claim is out (from
   * then on it starts no job), or, with `waitForActive`, once its running jobs have also settled. Other
   * workers of the queue go on: pause them all with queue.pause(). With partitions, every partition's loop
   * of this worker pauses.
   *
   * @param options - What to wait for.
   * @param options.waitForActive - Also wait until the jobs running now have settled; default false.
   */
  async pause(options: { waitForActive?: boolean } = {}): Promise<void> {
    const paused = this.#gate.pause();
    // A wait for a handoff ends now, not at its timeout: until it ends, an add may hand this worker a job.
    for (const worker of [this, ...this.#siblings]) if (worker.#handoff.registered > 0) worker.#idle.interrupt();
    await paused;
    if (options.waitForActive === true) await Promise.all([this, ...this.#siblings].map((worker) => worker.#running.settled()));
  }

  /** Claims again after pause(). */
  resume(): void {
    this.#gate.resume();
  }

  /** Starts the claim loop (done by the constructor unless autorun is false); resolves when it ends. */
  run(): Promise<void> {
    this.#loop ??= this.#claimLoop();
    if (this.#siblings.length === 0) return this.#loop;
    return Promise.all([this.#loop, ...this.#siblings.map((sibling) => sibling.run())]).then(() => undefined);
  }

  async #claimLoop(): Promise<void> {
    let failures = 0;
    let ready = false;
    while (this.#closing === undefined) {
      try {
        if (!ready) {
          await this.#checkConfig();
          await this.store.init(this.#levels);
          this.#leases.start();
          this.#reaper.start();
          this.#shares?.start();
          this.#relay?.start();
          this.#schedules?.start();
          ready = true;
        }
        // Registered for a handoff, the worker claims at once, whatever its slots: that claim ends the wait
        // and brings what was handed meanwhile.
        if (this.#handoff.registered === 0 && this.#gate.closed()) {
          await this.#gate.park(this);
          continue;
        }
        let claimed: ClaimResult | undefined;
        try {
          claimed = await this.#gate.track(this.#claim());
          if (claimed?.kind === 'jobs') this.#startAll(this.#handoff.unseen(claimed.jobs));
        } finally {
          // The slots taken for the claim: the started jobs keep theirs until they end (#freeSlot), and a
          // registration for a handoff keeps the rest until its wait ends.
          if (claimed !== undefined && (claimed.kind === 'empty' || claimed.kind === 'paused') && claimed.wakeFrom !== '') {
            this.#handoff.register(this.#reserved, claimed.wakeFrom);
          } else {
            this.#gate.give(this.#reserved);
            this.#reserved = 0;
          }
        }
        failures = 0;
        if (claimed === undefined || claimed.kind === 'jobs') continue;
        if (claimed.kind === 'needs-init') {
          await this.store.init(this.#levels);
        } else {
          await this.#waitIdle(claimed);
        }
      } catch (error) {
        if (this.#closing !== undefined) break;
        this.#report(error as Error);
        // These do not fix themselves: stop claiming (close() still works); anything else, retry.
        if (error instanceof RedisConfigError || error instanceof ConfigMismatchError) break;
        failures++;
        await new Promise((resolve) => setTimeout(resolve, Math.min(MAX_IDLE_BACKOFF, 100 * 2 ** failures)));
      }
    }
  }

  /**
   * One claim of up to the free slots: in the complete call about to leave when there is one (the Settler
   * takes this turn: one script call settles and claims), else a claim call of its own. Undefined: that
   * complete call claimed nothing, because the worker began closing before it left.
   */
  #claim(): Promise<ClaimResult | undefined> {
    const wait = (): string => this.#handoff.claimArg();
    // The claim that ends a wait goes alone: a complete call that claims nothing (count 0) would not carry it.
    const along = this.#handoff.registered === 0 ? this.#settler.claimAlong(() => this.#claimable(), wait) : undefined;
    return along ?? this.store.claim(this.consumer, this.#claimable(), PROMOTE_LIMIT, wait());
  }

  /**
   * How many jobs a claim leaving now may take (slots it takes until the claim is answered, with those still
   * registered for a handoff, which it ends): none once closing or paused.
   */
  #claimable(): number {
    if (this.#closing !== undefined || this.#gate.paused) return 0;
    this.#reserved += this.#gate.take();
    return this.#reserved;
  }

  /** Starts jobs claimed or handed; each keeps the slot it was reserved until it ends. */
  #startAll(jobs: readonly ClaimedJob[]): void {
    const before = this.#running.size;
    for (const entry of jobs) this.#startClaimed(entry);
    this.#reserved -= this.#running.size - before;
  }

  /**
   * An idle wait: blocked on Redis until there is work, the wait's time is up, or, registered for a
   * handoff, an add hands this worker jobs, which start at once; it waits on while slots stay registered and
   * the read saw nothing more (src/worker/handoff.ts).
   */
  async #waitIdle(claimed: IdleClaim): Promise<void> {
    if (this.#handoff.registered === 0) {
      await this.#idle.until(claimed);
      return;
    }
    // pause() waits for it: jobs may be handed until the wait ends (#leaveWait).
    await this.#gate.track(
      (async () => {
        for (;;) {
          const seen = await this.#idle.until(claimed, this.#handoff.read());
          const handed = this.#handoff.handed(seen);
          this.#startAll(handed);
          if (this.#gate.paused) await this.#leaveWait();
          if (this.#handoff.registered === 0 || this.#closing !== undefined || this.#handoff.news(seen)) return;
        }
      })(),
    );
  }

  /**
   * Ends a wait for a handoff that close() or pause() interrupted: a claim of nothing new that takes the
   * registration down and starts what was handed meanwhile (they were claimed for this worker).
   */
  async #leaveWait(): Promise<void> {
    if (this.#handoff.registered === 0) return;
    const claimed = await this.store.claim(this.consumer, 0, 0, this.#handoff.claimArg());
    if (claimed.kind === 'jobs') this.#startAll(this.#handoff.unseen(claimed.jobs));
    this.#gate.give(this.#reserved);
    this.#reserved = 0;
  }

  #startClaimed(claimed: ClaimedJob): void {
    let job: Job<Data, Result>;
    try {
      job = Job.fromStored<Data, Result>(this, claimed);
    } catch (error) {
      // Bytes no attempt could ever read (DecodeError), or anything else that stops the job from being
      // built: fail that job for good, saying why, and go on with the batch. An entry that holds no job at
      // all (id '') is only acknowledged.
      const why = asError(error);
      this.#report(
        claimed.id === ''
          ? new DecodeError(`stream entry ${claimed.entry} holds no job (${claimed.corrupt ?? 'no id'}); it was acknowledged and dropped`)
          : why,
      );
      const reason = `${why.message}; the job was failed without running`;
      // labels: whether it had any cannot be read; fail.lua then looks (one HGET), so the index stays exact.
      this.#running.track(this.#settle(claimed, () => this.#settler.fail({ job: claimed, retryDelay: -1, reason, stack: '', keep: KEEP_ALL, labels: true })).then(() => undefined));
      return;
    }
    this.#start(job, claimed);
  }

  #start(job: Job<Data, Result>, claimed: ClaimedJob): void {
    const entry = claimed.entry;
    const running = this.#running.add(claimed, job.id);
    this.#leases.hold(claimed.stream, entry);
    this.#running.track(this.#execute(job, claimed, running).finally(() => this.#leases.release(entry)));
  }

  /**
   * One attempt, top to bottom: run the handler, then settle exactly one way. `claimed` is the delivery as
   * claim handed it: the settle scripts write the job back from it (src/redis/store.ts).
   */
  async #execute(job: Job<Data, Result>, claimed: ClaimedJob, running: Running): Promise<void> {
    const entry = claimed.entry;
    this.#notify('active', job);
    const span = this.#telemetry.start(job);
    // A job that waited in a traced flow: its span links to the process spans of the jobs it waited for.
    if (job.traceLinks !== undefined && span.isRecording()) await this.#linkDependencies(job, span);
    const started = performance.now();
    let result: Result;
    let encoded: Buffer;
    let progress: Buffer | undefined;
    try {
      result = await this.#invoke(job, running.abort, span);
      running.settling = true;
      if (running.abandoned) return this.#telemetry.finish(job, span, undefined, 0, undefined);
      encoded = encode(result, 'return value', this.maxPayloadBytes);
      // Progress the handler recorded goes into the completed job's record (its hash is deleted then). It is
      // encoded again here, and an object changed since updateProgress may no longer encode: that fails the
      // attempt like a result that cannot be stored.
      progress = job.progress === undefined ? undefined : encode(job.progress, 'progress', this.maxPayloadBytes);
    } catch (thrown) {
      running.settling = true;
      if (running.abandoned) return this.#telemetry.finish(job, span, undefined, 0, undefined);
      const seconds = (performance.now() - started) / 1000;
      const error = asError(thrown);
      let outcome: JobOutcome | undefined;
      if (error instanceof RateLimitError) {
        // The slot frees once the release has landed: a claim before it would start the job behind this one
        // ahead of it, and inside the hold the release is about to set. A hold is capped as a retry's wait
        // is: a Retry-After of 1e300 would stop the queue for good.
        outcome = await this.#settleRateLimited(job, claimed, Math.min(error.retryAfterMs, MAX_TIMER_MS));
        this.#freeSlot(entry);
      } else {
        this.#freeSlot(entry);
        outcome = await this.#settleFailure(job, claimed, error, span);
      }
      this.#telemetry.finish(job, span, outcome, seconds, error);
      return;
    }
    const seconds = (performance.now() - started) / 1000;
    this.#freeSlot(entry);
    const keep = job.opts.keepCompleted;
    const dedupe = job.opts.dedupe !== undefined;
    const labels = job.opts.labels !== undefined;
    const input: CompleteInput = { job: claimed, result: encoded, keep, dedupe, labels, ...(progress === undefined ? {} : { progress }) };
    if (job.passesTrace) input.trace = this.#passedTrace(span);
    const settled = await this.#settle(job, () => this.#settler.complete(input));
    const ok = settled?.status === Status.OK;
    if (ok) {
      job.returnvalue = result;
      job.attemptsMade += 1;
      job.settled('completed', settled.at);
      this.#notify('completed', job, result);
    }
    this.#telemetry.finish(job, span, ok ? 'completed' : undefined, seconds, undefined);
  }

  /**
   * The contexts the completes of `job`'s dependencies recorded (one HGETALL of its deps hash), as links of
   * its process span. Only a job with stored dependency links and a recording span gets here.
   */
  async #linkDependencies(job: Job<Data, Result>, span: Span): Promise<void> {
    try {
      this.#telemetry.linkProcessed(span, dependencyTraces(await this.store.getDependencies(job.id), MAX_TRACE_LINKS));
    } catch {
      // The links are for whoever reads the trace: the job runs without them; the settle reports Redis' state.
    }
  }

  /** The process span's context, encoded, for a job others of its flow wait for; undefined without an SDK. */
  #passedTrace(span: Span): Buffer | undefined {
    const stored = storedSpanContext(span);
    if (stored === undefined) return undefined;
    try {
      // Not maxPayloadBytes: a small limit must not fail a completed job. A W3C tracestate has at most 512
      // characters, so 1 KiB holds any context; one larger is not linked.
      return encode(stored, 'trace context', 1024);
    } catch {
      return undefined;
    }
  }

  #invoke(job: Job<Data, Result>, attempt: AttemptSignal, span: Span): Promise<Result> {
    // Inside the process span (when one is recording), so the handler's own spans become its children.
    const ctx: ProcessorContext = {
      get signal() {
        return attempt.signal;
      },
      rateLimit,
      throttle: this.#throttle,
    };
    // Called at once, not from a .then(): a handler that throws before its first await still becomes a
    // rejection, and each job spares a promise and a closure.
    let run: Promise<Result>;
    try {
      run = Promise.resolve(runInSpan(span, this.#handler, job, ctx));
    } catch (error) {
      run = Promise.reject(asError(error));
    }
    return withTimeout(run, job.opts.timeout, job.id, attempt);
  }

  async #settleFailure(job: Job<Data, Result>, claimed: ClaimedJob, error: Error, span: Span): Promise<JobOutcome | undefined> {
    const attempt = job.attemptsMade + 1;
    let retryDelay = -1;
    let reason = error.message;
    if (!(error instanceof UnrecoverableError) && attempt < job.opts.attempts) {
      try {
        retryDelay = backoffDelay(job.opts.backoff, attempt, error, this.#strategies);
      } catch (strategyError) {
        // A missing or throwing strategy must not lose the job: it fails for good, saying why.
        const why = strategyError instanceof BackoffError ? strategyError.message : `backoff strategy threw: ${asError(strategyError).message}`;
        reason = `${reason} (not retried: ${why})`;
      }
    }
    const texts = failureTexts(reason, error);
    const dedupe = job.opts.dedupe !== undefined;
    const labels = job.opts.labels !== undefined;
    const input: FailInput = { job: claimed, retryDelay, ...texts, keep: job.opts.keepFailed, dedupe, labels };
    // Failed for good in a traced flow: the jobs waiting for it (policy 'ignore' runs them) link to this span.
    if (retryDelay < 0 && job.passesTrace) input.trace = this.#passedTrace(span);
    const settled = await this.#settle(job, () => this.#settler.fail(input));
    if (settled?.status !== Status.OK) return undefined;
    job.attemptsMade = attempt;
    job.failedReason = texts.reason;
    job.stacktrace = texts.stack || undefined;
    job.settled(retryDelay > 0 ? 'delayed' : retryDelay === 0 ? 'waiting' : 'failed', settled.at, retryDelay);
    if (retryDelay >= 0) this.#notify('retrying', job, error, retryDelay);
    else this.#notify('failed', job, error);
    return retryDelay >= 0 ? 'retried' : 'failed';
  }

  async #settleRateLimited(job: Job<Data, Result>, claimed: ClaimedJob, holdMs: number): Promise<JobOutcome | undefined> {
    const settled = await this.#settle(job, () => this.#settler.release({ job: claimed, holdMs }));
    if (settled?.status !== Status.OK) return undefined;
    job.settled('waiting', settled.at);
    this.#notify('rateLimited', job, holdMs);
    return 'rate_limited';
  }

  /** Sends a settle; a refused one (lease lost, job gone) or a failed call is reported, never thrown. */
  async #settle(job: { readonly id: string }, send: () => Promise<Settled>): Promise<Settled | undefined> {
    try {
      const settled = await send();
      if (settled.status === Status.LEASE_LOST) {
        this.#report(new LeaseLostError(job.id, 'the lease ran out and the job was handed to another worker'));
      } else if (settled.status === Status.JOB_MISSING) {
        this.#report(new LeaseLostError(job.id, 'the job was removed while it ran'));
      }
      return settled;
    } catch (error) {
      // The job stays active in Redis; once its lease runs out another worker runs it again.
      this.#report(error as Error);
      return undefined;
    }
  }

  #freeSlot(entry: string): void {
    if (this.#running.free(entry)) this.#gate.give(1);
  }

  /** Taken back as stalled, or cancelled by a person (cancel-watch.ts says which): the attempts' signals abort. */
  #onLost(entries: string[]): void {
    const lost = entries.flatMap((entry) => this.#running.get(entry) ?? []);
    void this.#cancels.whyLost(lost.map((running) => running.jobId)).then((why) => {
      for (const running of lost) running.abort.abort(why(running.jobId));
    });
  }

  /**
   * Emits a worker event. A listener that throws is reported (#report) instead of thrown into the attempt,
   * where it would leave the job unsettled until its lease ran out and reject a task nobody awaits.
   */
  #notify<K extends Exclude<keyof WorkerEventMap<Data, Result>, 'error'>>(event: K, ...args: WorkerEventMap<Data, Result>[K]): void {
    try {
      (this.#events.emit as (event: K, ...args: WorkerEventMap<Data, Result>[K]) => boolean).call(this.#events, event, ...args);
    } catch (thrown) {
      this.#report(new Error(`a '${event}' listener of worker '${this.name}' threw: ${asError(thrown).message}`, { cause: thrown }));
    }
  }

  /** An async listener's rejection (captureRejections), reported as #notify reports a throw. */
  override [captureRejectionSymbol]<K>(
    error: Error,
    event: keyof WorkerEventMap<Data, Result> | K,
    ..._args: K extends keyof WorkerEventMap<Data, Result> ? WorkerEventMap<Data, Result>[K] : never
  ): void {
    const wrapped = new Error(`a '${String(event)}' listener of worker '${this.name}' rejected: ${asError(error).message}`, { cause: error });
    // An 'error' listener that rejects is not handed its own failure again: that would loop.
    this.#report(wrapped, event !== 'error');
  }

  /** To the `error` listeners; without one, to the `logger` option; without that, a process warning. */
  #report(error: Error, toListeners = true): void {
    if (toListeners && this.#events.listenerCount('error') > 0) {
      try {
        this.#events.emit('error', error);
        return;
      } catch (thrown) {
        error = new Error(`an 'error' listener threw while reporting "${error.message}": ${asError(thrown).message}`, { cause: thrown });
      }
    }
    if (this.logger !== undefined) this.logger.error({ err: error, queue: this.name, consumer: this.consumer }, 'sluice worker error');
    else process.emitWarning(`sluice worker '${this.name}': ${error.message}`, { code: (error as { code?: string }).code ?? 'SLUICE_WORKER' });
  }

  /**
   * Graceful (the default): stops claiming, lets running jobs finish and settle, then closes its
   * connections; resolves when nothing of this worker is left running. `force`: does not wait for running
   * jobs: aborts their ctx.signal (ClosedError) and gives them back to waiting at once, without using an
   * attempt (one release call; the events stream records them as rate-limited with no hold), then closes.
   * Their handlers may still run on in this process, but their outcomes are dropped. A force given while a
   * graceful close waits ends that wait. Safe to call more than once.
   *
   * @param options - How to treat running jobs.
   * @param options.force - Give them back at once instead of waiting for them; default false.
   */
  close(options: { force?: boolean } = {}): Promise<void> {
    if (options.force === true) for (const worker of [this, ...this.#siblings]) worker.#running.force();
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    // Ends a blocked XREAD at once; a pending claim call on the other connection still gets its answer.
    disconnectNow(this.#blocking);
    // The siblings settle on this worker's connection: it closes after them.
    const siblingsClosed = Promise.all(this.#siblings.map((sibling) => sibling.close()));
    const schedulesStopped = this.#schedules?.stop();
    this.#stopQueueMetrics?.();
    this.#gate.unpark(this);
    await this.#loop;
    await this.#leaveWait().catch((error: Error) => this.#report(error));
    await this.#running.settled();
    if (this.#running.forced) await this.#abandonRunning();
    await this.#settler.drain();
    // A partitioned Worker's sandbox runs its siblings' jobs too: it closes once they are done.
    await Promise.all([this.#leases.stop(), this.#reaper.stop(), this.#shares?.stop(), this.#relay?.stop(), schedulesStopped, siblingsClosed.then(() => this.#sandbox?.close())]);
    await closeConnection(this.#connection);
    untrackOpen(this);
    this.emit('closed');
  }

  /** close({ force }): the jobs whose handlers still run, aborted and given back; waits for the release only. */
  async #abandonRunning(): Promise<void> {
    const abandoned = this.#running.abandon(() => new ClosedError(`Worker '${this.name}' (${this.consumer}), closed with force,`));
    this.#gate.give(abandoned.length);
    for (const { claimed } of abandoned) this.#leases.release(claimed.entry);
    await Promise.all(abandoned.map(({ claimed }) => this.#settle(claimed, () => this.#settler.release({ job: claimed, holdMs: 0 }))));
  }
}

function rateLimit(ms: number): never {
  throw new RateLimitError(ms);
}

import { EventEmitter } from 'node:events';
import { checkRedisConfig } from './durability.js';
import { ConfigMismatchError, RedisConfigError, ValidationError } from './errors.js';
import { queueKeys } from './keys.js';
import { trackOpen, untrackOpen } from './open-handles.js';
import { queueSettings, type QueueOptions } from './queue-settings.js';
import { closeConnection, connect, type Connection } from './redis/connection.js';
import { ScheduleStore } from './redis/schedule-store.js';
import { QueueStore } from './redis/store.js';
import { DelayedPromoter } from './schedules/promoter.js';
import { ScheduleRunner, SCHEDULE_POLL_MS, type FiredTick } from './schedules/runner.js';

/**
 * The options of a {@link Scheduler}: the queue settings of {@link QueueOptions} it needs, with their
 * defaults there (`prefix` 'sluice', `eventsMaxLen` 10000, `redisConfig` 'warn'), except `priorityLevels`:
 * left out, the Scheduler uses the number the queue recorded in Redis, or 3 for a queue never used yet.
 */
export type SchedulerOptions = Pick<QueueOptions, 'connection' | 'prefix' | 'priorityLevels' | 'eventsMaxLen' | 'redisConfig'>;

/** The events of a {@link Scheduler} and their arguments. */
export interface SchedulerEventMap {
  /** A schedule's tick enqueued its job (the tick's deterministic job id). */
  fired: [fired: FiredTick];
  /**
   * A Redis error, a schedule it could not read, or a setting that stops it (ConfigMismatchError,
   * RedisConfigError). Without a listener, a process warning.
   */
  error: [error: Error];
  /** `close()` finished. */
  closed: [];
}

/**
 * Keeps a queue's time-driven work moving where no Worker runs: fires its recurring schedules and promotes
 * its due delayed jobs to waiting. A deployment that scales workers to zero (KEDA) runs one so that ticks
 * still enqueue and delayed jobs still become waiting, which is what the autoscaler watches. Any number of
 * Schedulers and Workers may run at once: firing is a compare-and-set, promotion is atomic.
 *
 * `priorityLevels` may be left out: the Scheduler then uses the number the queue recorded in Redis (or
 * the default 3 for a queue never used yet), so an exporter can run one for any queue without knowing it.
 *
 * States: created -> starting (config check, levels, init) -> running (runner and promoter loops) ->
 * closed. A start that fails on a setting (ConfigMismatchError, RedisConfigError) reports it and stops;
 * other failures are retried every SCHEDULE_POLL_MS.
 */
export class Scheduler extends EventEmitter<SchedulerEventMap> {
  /** The queue's name, as given to the constructor. */
  readonly name: string;
  readonly #options: SchedulerOptions;
  readonly #connection: Connection;
  #runner: ScheduleRunner | undefined;
  #promoter: DelayedPromoter | undefined;
  #starting: Promise<void>;
  #closing: Promise<void> | undefined;

  /**
   * Validates the options, opens one connection and starts at once: it checks Redis (the `redisConfig`
   * check, the queue's priority levels), then fires schedules and promotes delayed jobs until close().
   *
   * @param name - The queue's name.
   * @param options - {@link SchedulerOptions}; `connection` is required.
   * @throws {@link ValidationError} when the name or an option is not acceptable.
   */
  constructor(name: string, options: SchedulerOptions) {
    super();
    if (typeof options !== 'object' || options === null || options.connection === undefined) {
      throw new ValidationError(`new Scheduler('${String(name)}', options) needs options.connection`);
    }
    const settings = queueSettings(options);
    queueKeys(name, settings.prefix, settings.levels); // validates name and prefix now, before any I/O
    this.name = name;
    this.#options = options;
    this.#connection = connect(options.connection);
    trackOpen(this, `Scheduler '${name}'`);
    this.#starting = this.#start();
  }

  async #start(): Promise<void> {
    const settings = queueSettings(this.#options);
    for (let failures = 0; this.#closing === undefined; failures++) {
      try {
        // The meta key does not depend on the number of levels: read the recorded one before building the keys.
        const probe = new ScheduleStore(this.#connection.client, queueKeys(this.name, settings.prefix, 1), settings.eventsMaxLen);
        const levels = this.#options.priorityLevels === undefined ? ((await probe.recordedLevels()) ?? settings.levels) : settings.levels;
        const keys = queueKeys(this.name, settings.prefix, levels);
        const store = new QueueStore(this.#connection.client, keys, settings.eventsMaxLen);
        await checkRedisConfig(store, settings.redisConfig, `Scheduler '${this.name}'`);
        await store.init(levels);
        if (this.#closing !== undefined) return;
        const schedules = new ScheduleStore(this.#connection.client, keys, settings.eventsMaxLen);
        const onError = (error: Error): void => this.#report(error);
        this.#runner = new ScheduleRunner(schedules, (fired) => this.emit('fired', fired), onError);
        this.#promoter = new DelayedPromoter(schedules, () => store.init(levels), onError);
        this.#runner.start();
        this.#promoter.start();
        return;
      } catch (error) {
        this.#report(error as Error);
        if (error instanceof RedisConfigError || error instanceof ConfigMismatchError) return;
        await new Promise((resolve) => setTimeout(resolve, Math.min(SCHEDULE_POLL_MS, 100 * 2 ** failures)));
      }
    }
  }

  #report(error: Error): void {
    if (this.listenerCount('error') > 0) this.emit('error', error);
    else process.emitWarning(`sluice scheduler '${this.name}': ${error.message}`, { code: (error as { code?: string }).code ?? 'SLUICE_SCHEDULER' });
  }

  /** Stops firing and promoting (a call in flight finishes), then closes the connection. Safe to call more than once. */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    await this.#starting;
    await Promise.all([this.#runner?.stop(), this.#promoter?.stop()]);
    await closeConnection(this.#connection);
    untrackOpen(this);
    this.emit('closed');
  }
}

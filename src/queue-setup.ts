import { ClosedError } from './errors.js';
import type { JobOwner } from './job.js';
import type { QueueAccess } from './queue-access.js';
import type { RateLimit } from './queue-settings.js';
import { ScheduleStore } from './redis/schedule-store.js';
import type { QueueStore } from './redis/store.js';

/**
 * A Queue's state against Redis: checked and created once before the first call that writes (init), checked
 * without creating anything before a read (inspect), forgotten by obliterate, refused once closed. It is the
 * QueueAccess that the Queue's operations modules are given.
 */
export class QueueSetUp implements QueueAccess {
  readonly name: string;
  readonly owner: JobOwner;
  readonly store: QueueStore;
  readonly #levels: number;
  readonly #eventsMaxLen: number;
  /** The `rateLimit` option, written when the queue is set up (undefined on a partition: split by QueuePartitions). */
  readonly #rateLimit: RateLimit | undefined;
  /** The Redis config check before first use; a partitioned Queue's partitions share one. */
  readonly #checkConfig: () => Promise<void>;
  #ready: Promise<void> | undefined;
  /** #ready resolved: the hot path checks this field instead of awaiting a settled promise. */
  #setUpDone = false;
  /** A read found the queue and checked it (inspect); reset by obliterate. */
  #checked: Promise<boolean> | undefined;
  #closed = false;
  #scheduleStore: ScheduleStore | undefined;

  constructor(
    owner: JobOwner,
    settings: { levels: number; eventsMaxLen: number },
    rateLimit: RateLimit | undefined,
    checkConfig: () => Promise<void>,
  ) {
    this.name = owner.queueName;
    this.owner = owner;
    this.store = owner.store;
    this.#levels = settings.levels;
    this.#eventsMaxLen = settings.eventsMaxLen;
    this.#rateLimit = rateLimit;
    this.#checkConfig = checkConfig;
  }

  /** Whether close() was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Marks the Queue closed; false when it was already. */
  close(): boolean {
    if (this.#closed) return false;
    this.#closed = true;
    return true;
  }

  /** Checks priorityLevels against Redis once; later calls reuse the answer. */
  init(): Promise<void> {
    if (this.#closed) return Promise.reject(new ClosedError(`Queue '${this.name}'`));
    return this.setUp();
  }

  /** For the Adder: undefined once set up, else setUp(). */
  pending(): Promise<void> | undefined {
    return this.#setUpDone ? undefined : this.setUp();
  }

  /** init without the closed check: adds handed to the Adder before close() are still sent. */
  setUp(): Promise<void> {
    if (this.#ready === undefined) {
      const limit = this.#rateLimit;
      const ready = this.#checkConfig()
        .then(() => this.store.init(this.#levels))
        .then(() => (limit === undefined ? undefined : this.store.setRateLimit(limit)));
      this.#ready = ready;
      ready.then(
        () => {
          if (this.#ready === ready) this.#setUpDone = true;
        },
        () => {
          if (this.#ready === ready) this.#ready = undefined;
        },
      );
    }
    return this.#ready;
  }

  /**
   * Before a read: checks the queue against Redis as init does, but creates nothing. Reads must not write:
   * a read of a queue that is not there (obliterated a moment ago, or never used) finds it empty and leaves
   * no keys behind. Resolves whether the queue exists; only a found queue is remembered, so reads keep
   * asking (one small script call) until something creates it.
   */
  inspect(): Promise<boolean> {
    if (this.#closed) return Promise.reject(new ClosedError(`Queue '${this.name}'`));
    if (this.#ready !== undefined) return this.#ready.then(() => true);
    if (this.#checked === undefined) {
      const checked = this.#checkConfig().then(() => this.store.check(this.#levels));
      this.#checked = checked;
      const forget = (): void => {
        if (this.#checked === checked) this.#checked = undefined;
      };
      void checked.then((found) => {
        if (!found) forget();
      }, forget);
    }
    return this.#checked;
  }

  /** After obliterate: the queue is gone, so the next call checks (and creates) it again. */
  forget(): void {
    this.#ready = undefined;
    this.#setUpDone = false;
    this.#checked = undefined;
  }

  schedules(): ScheduleStore {
    this.#scheduleStore ??= new ScheduleStore(this.store.client, this.store.keys, this.#eventsMaxLen);
    return this.#scheduleStore;
  }
}

import { EventEmitter } from 'node:events';
import { ClosedError } from './errors.js';
import { DEFAULT_PREFIX, queueKeys } from './keys.js';
import { trackOpen, untrackOpen } from './open-handles.js';
import { connectBlocking, disconnectNow, type ConnectionOptions, type RedisClient } from './redis/connection.js';
import { lastEventId, readEvents, type StreamEvent } from './redis/event-reader.js';
import { assertDuration } from './options.js';
import { cancelledReason } from './job-control.js';
import { decode } from './serializer.js';

/** The options of a {@link QueueEvents}. */
export interface QueueEventsOptions {
  /**
   * How to reach Redis, as for a Queue. QueueEvents always uses a connection of its own (a duplicate
   * when given an ioredis instance), since it spends its life blocked.
   */
  connection: ConnectionOptions;
  /**
   * The prefix of the queue's keys: the same as the Queue's.
   *
   * @defaultValue `'sluice'`
   */
  prefix?: string;
  /**
   * ms one blocking read may wait before it is repeated (0 to 2,147,483,647; 0 waits until an event
   * comes); bounds how long close() can take.
   *
   * @defaultValue `5000`
   */
  blockMs?: number;
}

/**
 * The events of a {@link QueueEvents} and their payloads: `events.on('completed', ({ jobId, returnvalue })
 * => ...)`. They come from every producer and worker of the queue, through the queue's capped events
 * stream (the Queue option `eventsMaxLen`).
 */
export interface QueueEventMap {
  /** A job was added (delayed ones included). */
  added: [event: {
    /** The job's id. */
    jobId: string;
    /** The job's name. */
    name: string;
  }];
  /** A worker started a run of the job. */
  active: [event: {
    /** The job's id. */
    jobId: string;
    /** The run's number: the job's `attemptsStarted`, this run included. */
    attempt: number;
  }];
  /** A handler called `job.updateProgress`. */
  progress: [event: {
    /** The job's id. */
    jobId: string;
    /** The progress value, decoded. */
    data: unknown;
  }];
  /** The job completed. */
  completed: [event: {
    /** The job's id. */
    jobId: string;
    /** What the handler returned, decoded. */
    returnvalue: unknown;
  }];
  /** The job failed for good: no attempts left, UnrecoverableError, or stalled too often. */
  failed: [event: {
    /** The job's id. */
    jobId: string;
    /** The message of the error its last attempt ended with ('stalled' for a stall). */
    failedReason: string;
  }];
  /** An attempt failed and the job will run again. */
  retrying: [event: {
    /** The job's id. */
    jobId: string;
    /** ms until the retry: the backoff's wait (0: at once). */
    delay: number;
    /** The message of the error the attempt ended with. */
    failedReason: string;
  }];
  /** The job was taken back from a worker that stopped extending its lease, and waits again. */
  stalled: [event: {
    /** The job's id. */
    jobId: string;
  }];
  /** The handler threw RateLimitError: the job waits again and its group (or the queue) is held `delay` ms. */
  rateLimited: [event: {
    /** The job's id. */
    jobId: string;
    /** The hold, in ms. */
    delay: number;
  }];
  /** A person sent a finished job back to waiting (job.retry, queue.retryJobs). */
  waiting: [event: {
    /** The job's id. */
    jobId: string;
  }];
  /** The job was deleted (job.remove, queue.clean, the dashboard). Retention deletes without this event. */
  removed: [event: {
    /** The job's id. */
    jobId: string;
  }];
  /** An add with the dedupe option returned this job, which holds `key`, instead of adding one. */
  deduplicated: [event: {
    /** The job's id. */
    jobId: string;
    /** The dedupe key the job holds. */
    key: string;
  }];
  /** An add with dedupe.debounce gave this job, not started yet, its data and a start at `dueAt` (ms). */
  debounced: [event: {
    /** The job's id. */
    jobId: string;
    /** When the job may start now, in ms since the epoch (Redis' clock). */
    dueAt: number;
  }];
  /** job.updateData replaced the job's data. */
  updated: [event: {
    /** The job's id. */
    jobId: string;
  }];
  /** job.changePriority moved the job to level `priority`. */
  priorityChanged: [event: {
    /** The job's id. */
    jobId: string;
    /** The job's new priority level. */
    priority: number;
  }];
  /** job.changeDelay or job.reschedule: the job may start at `dueAt` (ms; now, when it waits at once). */
  rescheduled: [event: {
    /** The job's id. */
    jobId: string;
    /** When the job may start, in ms since the epoch (Redis' clock). */
    dueAt: number;
  }];
  /** job.promote or queue.promoteJob: a delayed job waits now. */
  promoted: [event: {
    /** The job's id. */
    jobId: string;
  }];
  /** A person cancelled the job (queue.cancel, job.cancel): it is failed with `failedReason`, not retried. */
  cancelled: [event: {
    /** The job's id. */
    jobId: string;
    /** The reason given to cancel, '' when none. */
    reason: string;
    /** The failed reason the job now has: `cancelled` or `cancelled: <reason>`. */
    failedReason: string;
  }];
  /** The queue was paused (queue.pause). */
  paused: [];
  /** The queue was resumed (queue.resume). */
  resumed: [];
  /**
   * A read failed (the reader retries every 500 ms), or an event could not be read or a listener threw.
   * Without a listener it becomes a process warning.
   */
  error: [error: Error];
}

export interface FinishedOutcome {
  returnvalue?: unknown;
  failedReason?: string;
}

/**
 * Reads a queue's lifecycle events from its capped events stream, as they happen, from the moment it is
 * ready (not the history). Uses one connection of its own, blocked in XREAD between events.
 */
export class QueueEvents extends EventEmitter<QueueEventMap> {
  /** The queue's name, as given to the constructor. */
  readonly name: string;
  readonly #eventsKey: string;
  readonly #client: RedisClient;
  readonly #blockMs: number;
  readonly #ready: Promise<void>;
  readonly #waiters = new Map<string, Set<(outcome: FinishedOutcome) => void>>();
  #closed = false;
  #loop: Promise<void> | undefined;

  /**
   * Opens its connection and starts reading from the newest event; `waitUntilReady()` resolves once it
   * reads. Events written before that are not replayed.
   *
   * @param name - The queue's name.
   * @param options - {@link QueueEventsOptions}; `connection` is required.
   * @throws {@link ValidationError} for a bad name, prefix or `blockMs`.
   */
  constructor(name: string, options: QueueEventsOptions) {
    super();
    const keys = queueKeys(name, options.prefix ?? DEFAULT_PREFIX, 0);
    this.name = name;
    this.#blockMs = assertDuration('blockMs', options.blockMs ?? 5000, 0);
    // Always a connection of its own (a duplicate when given an instance): it spends its life blocked.
    this.#client = connectBlocking(options.connection);
    this.#eventsKey = keys.events;
    trackOpen(this, `QueueEvents '${name}'`);
    this.#ready = lastEventId(this.#client, this.#eventsKey).then((id) => {
      this.#loop = this.#run(id);
    });
    // A failed start is reported through waitUntilReady(); keep it from being an unhandled rejection here.
    this.#ready.catch(() => undefined);
  }

  /**
   * Resolves once events that happen from now on will be seen.
   *
   * @throws {@link ClosedError} after close(); the connection's error when the first read failed.
   */
  async waitUntilReady(): Promise<void> {
    if (this.#closed) throw new ClosedError(`QueueEvents '${this.name}'`);
    await this.#ready;
  }

  /** @internal Calls `listener` once when the job completes or fails for good; returns an unsubscribe. */
  onFinished(jobId: string, listener: (outcome: FinishedOutcome) => void): () => void {
    let set = this.#waiters.get(jobId);
    if (set === undefined) {
      set = new Set();
      this.#waiters.set(jobId, set);
    }
    set.add(listener);
    return () => {
      const current = this.#waiters.get(jobId);
      current?.delete(listener);
      if (current?.size === 0) this.#waiters.delete(jobId);
    };
  }

  async #run(from: string): Promise<void> {
    let last = from;
    while (!this.#closed) {
      let events: StreamEvent[];
      try {
        events = await readEvents(this.#client, this.#eventsKey, last, this.#blockMs, 500);
      } catch (error) {
        if (this.#closed) return;
        this.#report(error as Error);
        await new Promise((resolve) => setTimeout(resolve, 500));
        continue;
      }
      for (const event of events) {
        last = event.id;
        try {
          this.#dispatch(event);
        } catch (error) {
          // An event that cannot be read (written by hand or by another client), or a listener that threw:
          // that one event is reported, and the reader goes on with the next.
          this.#report(error instanceof Error ? error : new Error(String(error)));
        }
      }
    }
  }

  /** To the `error` listeners; without one, a process warning: an unheard 'error' would throw and end the reader. */
  #report(error: Error): void {
    if (this.listenerCount('error') > 0) this.emit('error', error);
    else process.emitWarning(`sluice QueueEvents '${this.name}': ${error.message}`, { code: (error as { code?: string }).code ?? 'SLUICE_QUEUE_EVENTS' });
  }

  #dispatch(event: StreamEvent): void {
    const { jobId, value } = event;
    switch (event.type) {
      case 'added':
        this.emit('added', { jobId, name: value.toString() });
        break;
      case 'active':
        this.emit('active', { jobId, attempt: Number(value.toString()) });
        break;
      case 'progress':
        this.emit('progress', { jobId, data: decode(value, `the progress event of job '${jobId}'`) });
        break;
      case 'completed': {
        const returnvalue = decode(value, `the completed event of job '${jobId}'`);
        this.#finish(jobId, { returnvalue });
        this.emit('completed', { jobId, returnvalue });
        break;
      }
      case 'failed': {
        const failedReason = value.toString();
        this.#finish(jobId, { failedReason });
        this.emit('failed', { jobId, failedReason });
        break;
      }
      case 'retrying': {
        // '<delay>:<reason>': the delay is digits, so the first ':' ends it.
        const text = value.toString();
        const colon = text.indexOf(':');
        this.emit('retrying', { jobId, delay: Number(text.slice(0, colon)), failedReason: text.slice(colon + 1) });
        break;
      }
      case 'stalled':
        this.emit('stalled', { jobId });
        break;
      case 'rate-limited':
        this.emit('rateLimited', { jobId, delay: Number(value.toString()) });
        break;
      case 'waiting':
        this.emit('waiting', { jobId });
        break;
      case 'removed':
        this.emit('removed', { jobId });
        break;
      case 'deduplicated':
        this.emit('deduplicated', { jobId, key: value.toString() });
        break;
      case 'debounced':
        this.emit('debounced', { jobId, dueAt: Number(value.toString()) });
        break;
      case 'updated':
        this.emit('updated', { jobId });
        break;
      case 'priority':
        this.emit('priorityChanged', { jobId, priority: Number(value.toString()) });
        break;
      case 'rescheduled':
        this.emit('rescheduled', { jobId, dueAt: Number(value.toString()) });
        break;
      case 'promoted':
        this.emit('promoted', { jobId });
        break;
      case 'cancelled': {
        // Ended for good, as a failure: waitUntilFinished rejects with this reason.
        const reason = value.toString();
        const failedReason = cancelledReason(reason);
        this.#finish(jobId, { failedReason });
        this.emit('cancelled', { jobId, reason, failedReason });
        break;
      }
      case 'paused':
        this.emit('paused');
        break;
      case 'resumed':
        this.emit('resumed');
        break;
      default:
        break;
    }
  }

  #finish(jobId: string, outcome: FinishedOutcome): void {
    const listeners = this.#waiters.get(jobId);
    if (listeners === undefined) return;
    this.#waiters.delete(jobId);
    for (const listener of listeners) listener(outcome);
  }

  /** Stops reading and closes its connection at once (a blocked read is dropped). Safe to call more than once. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    // A blocked XREAD cannot be cancelled: dropping the connection ends it at once.
    disconnectNow(this.#client);
    await this.#ready.catch(() => undefined);
    await this.#loop;
    untrackOpen(this);
  }
}

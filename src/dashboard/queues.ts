import { ValidationError } from '../errors.js';
import { DEFAULT_PREFIX, queueKeys, registryKey, validatePrefix, validateQueueName } from '../keys.js';
import { Queue } from '../queue.js';
import { closeConnection, connect, type Connection, type ConnectionOptions } from '../redis/connection.js';
import { recordedLevels, recordedPartitions, registeredQueues } from '../redis/registry.js';

/**
 * The queues a dashboard shows: found in the prefix's registry, each read through a Queue of its own on
 * one shared connection (a Queue is cheap: it holds no connection when given a client). A Queue is made
 * with the priority levels and partitions Redis recorded for the queue, so it can read any queue without
 * being told.
 */

/** A page's Redis commands answer within this, or the page says Redis is slow instead of hanging. */
const COMMAND_TIMEOUT_MS = 5000;

export class QueueDirectory {
  readonly prefix: string;
  readonly #connection: Connection;
  readonly #registry: string;
  readonly #eventsMaxLen: number | undefined;
  readonly #queues = new Map<string, { queue: Queue; levels: number }>();

  constructor(connection: ConnectionOptions, prefix: string | undefined, eventsMaxLen: number | undefined) {
    this.prefix = validatePrefix(prefix ?? DEFAULT_PREFIX);
    this.#registry = registryKey(this.prefix);
    this.#eventsMaxLen = eventsMaxLen;
    this.#connection = connect(connection, { commandTimeout: COMMAND_TIMEOUT_MS });
  }

  /** Every registered queue's name, sorted. */
  names(): Promise<string[]> {
    return registeredQueues(this.#connection.client, this.#registry);
  }

  /**
   * The queue `name`, or undefined when the name is not a queue name or no such queue exists in Redis.
   * `fresh` reads its levels again (a page view); a poll reuses what it found.
   */
  async get(name: string, fresh = true): Promise<Queue | undefined> {
    const known = this.#queues.get(name);
    if (known !== undefined && !fresh) return known.queue;
    try {
      validateQueueName(name);
    } catch (error) {
      if (error instanceof ValidationError) return undefined;
      throw error;
    }
    const first = queueKeys(name, this.prefix, 1);
    const [levels, partitions = 1] = await Promise.all([recordedLevels(this.#connection.client, first), recordedPartitions(this.#connection.client, first)]);
    if (levels === undefined) return undefined;
    if (known !== undefined && known.levels === levels && known.queue.partitions === partitions) return known.queue;
    // New, or obliterated and made again with other levels.
    if (known !== undefined) await known.queue.close();
    const queue = new Queue(name, {
      connection: this.#connection.client,
      prefix: this.prefix,
      priorityLevels: levels,
      partitions,
      // The application's processes check Redis' settings; an observer that warned too would only repeat it.
      redisConfig: 'off',
      ...(this.#eventsMaxLen === undefined ? {} : { eventsMaxLen: this.#eventsMaxLen }),
    });
    this.#queues.set(name, { queue, levels });
    return queue;
  }

  async close(): Promise<void> {
    const queues = [...this.#queues.values()];
    this.#queues.clear();
    await Promise.all(queues.map(({ queue }) => queue.close()));
    await closeConnection(this.#connection);
  }
}

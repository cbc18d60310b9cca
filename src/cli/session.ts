/**
 * One command's hold on Redis: a connection opened and checked up front (redis/operator-connection.ts),
 * the prefix's queue registry, and a Queue per queue it touches on that one connection. A Queue is made
 * with the priority levels Redis recorded for the queue, so the command reads any queue without being told
 * its settings, and only for a queue that exists: no command creates a queue by naming it.
 */
import { QueueNotFoundError } from '../errors.js';
import { queueKeys, registryKey } from '../keys.js';
import { Queue } from '../queue.js';
import { closeConnection, type Connection } from '../redis/connection.js';
import { openOperatorConnection } from '../redis/operator-connection.js';
import { recordedLevels, registeredQueues } from '../redis/registry.js';
import type { Common } from './arguments.js';

/** The longest step of a bulk action (1,000 jobs in one script call) takes milliseconds; 10 s means Redis is stuck. */
const COMMAND_TIMEOUT_MS = 10_000;

export class Session {
  readonly prefix: string;
  readonly #connection: Connection;
  readonly #queues: Queue[] = [];

  private constructor(prefix: string, connection: Connection) {
    this.prefix = prefix;
    this.#connection = connection;
  }

  static async open(common: Common): Promise<Session> {
    return new Session(common.prefix, await openOperatorConnection(common.redis, { commandTimeoutMs: COMMAND_TIMEOUT_MS, reconnect: 'few' }));
  }

  /** Every queue of the prefix the registry holds, sorted by name. */
  names(): Promise<string[]> {
    return registeredQueues(this.#connection.client, registryKey(this.prefix));
  }

  /** The queue `name`; QueueNotFoundError when it does not exist under the prefix. */
  async queue(name: string): Promise<Queue> {
    const levels = await recordedLevels(this.#connection.client, queueKeys(name, this.prefix, 1));
    if (levels === undefined) throw new QueueNotFoundError(name, this.prefix);
    const queue = new Queue(name, {
      connection: this.#connection.client,
      prefix: this.prefix,
      priorityLevels: levels,
      // The application's processes check Redis' settings; an operator's command would only repeat it.
      redisConfig: 'off',
    });
    this.#queues.push(queue);
    return queue;
  }

  async close(): Promise<void> {
    await Promise.all(this.#queues.map((queue) => queue.close()));
    await closeConnection(this.#connection);
  }
}

/** Runs `use` with a session, closed whatever happens. */
export async function withSession<T>(common: Common, use: (session: Session) => Promise<T>): Promise<T> {
  const session = await Session.open(common);
  try {
    return await use(session);
  } finally {
    await session.close();
  }
}

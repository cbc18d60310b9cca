import { RedisUnavailableError } from '../errors.js';
import type { RedisClient } from './connection.js';

/**
 * A producer's bounded wait for a connection that is down. ioredis would queue commands while it
 * reconnects, without bound, and send them whenever it gets back; a command timed out while queued could
 * still run later, so its caller would never know whether the job exists. Instead a Queue waits here,
 * before sending: at most `timeoutMs` for the connection to come back and at most `maxWaiting` calls at
 * once, and a call that gives up was never sent (RedisUnavailableError: retrying is safe).
 */
export class Reachability {
  readonly #client: RedisClient;
  readonly #timeoutMs: number;
  readonly #maxWaiting: number;
  #waiting = 0;

  constructor(client: RedisClient, timeoutMs: number, maxWaiting: number) {
    this.#client = client;
    this.#timeoutMs = timeoutMs;
    this.#maxWaiting = maxWaiting;
  }

  /** undefined while connected, so the hot path pays one property read and no promise. */
  whenReady(): Promise<void> | undefined {
    const client = this.#client;
    if (client.status === 'ready') return undefined;
    if (client.status === 'end') {
      return Promise.reject(new RedisUnavailableError('the connection to Redis was closed; create a new Queue (or reconnect your ioredis client) and retry'));
    }
    if (this.#waiting >= this.#maxWaiting) {
      return Promise.reject(
        new RedisUnavailableError(
          `Redis is unreachable and ${this.#waiting} calls already wait for it (maxOfflineCalls); nothing was sent. ` +
            `Retry later, or raise maxOfflineCalls`,
        ),
      );
    }
    if (client.status === 'wait') client.connect().catch(() => undefined);
    this.#waiting++;
    return new Promise<void>((resolve, reject) => {
      const wake = (): void => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        this.#forget(wake);
        reject(
          new RedisUnavailableError(
            `Redis did not become reachable within ${this.#timeoutMs} ms (offlineTimeout; connection ${client.status}); ` +
              `nothing was sent. Check that Redis is up, then retry`,
          ),
        );
      }, this.#timeoutMs);
      if (this.#waiters.size === 0) client.once('ready', this.#wakeAll);
      this.#waiters.add(wake);
    }).finally(() => this.#waiting--);
  }

  /**
   * The waiting calls share one 'ready' listener: one each made Node warn of a listener leak past 10
   * calls, and maxOfflineCalls allows 1,000 by default.
   */
  readonly #waiters = new Set<() => void>();

  readonly #wakeAll = (): void => {
    const waiters = [...this.#waiters];
    this.#waiters.clear();
    for (const wake of waiters) wake();
  };

  #forget(wake: () => void): void {
    this.#waiters.delete(wake);
    if (this.#waiters.size === 0) this.#client.off('ready', this.#wakeAll);
  }
}

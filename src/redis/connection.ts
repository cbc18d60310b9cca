import { Redis, type RedisOptions } from 'ioredis';

/**
 * How a Queue, Worker or QueueEvents reaches Redis: a URL, ioredis options, or an ioredis instance the
 * caller owns (sluice then never closes it, and duplicates it for the blocking connection it needs).
 */
export type ConnectionOptions = { url: string } | RedisOptions | Redis;
export type { Redis, RedisOptions };

export interface Connection {
  readonly client: Redis;
  /** false when the caller passed the instance: close() then leaves it open. */
  readonly owned: boolean;
}

function isUrl(options: ConnectionOptions): options is { url: string } {
  return typeof (options as { url?: unknown }).url === 'string';
}

/**
 * Opens a connection for commands. `defaults` apply under the caller's own options (a Queue passes a
 * commandTimeout so a frozen Redis cannot hang add() forever); an instance the caller passed is used as is.
 */
export function connect(options: ConnectionOptions, defaults: RedisOptions = {}): Connection {
  if (options instanceof Redis) return { client: options, owned: false };
  if (isUrl(options)) {
    const { url, ...rest } = options as { url: string } & RedisOptions;
    return { client: quiet(new Redis(url, { ...defaults, ...rest })), owned: true };
  }
  return { client: quiet(new Redis({ ...defaults, ...options })), owned: true };
}

/**
 * ioredis prints "Unhandled error event" for every failed reconnect of a client nobody listens to. A
 * connection sluice opened reports its failures where they matter: the command that failed rejects
 * (add(), getCounts()...), and a Worker or QueueEvents emits it on its own 'error' event. So the
 * connection's own error events are not printed a second time. A connection the caller passed is left as
 * the caller set it up.
 */
function quiet(client: Redis): Redis {
  client.on('error', () => undefined);
  return client;
}

/**
 * A second connection for blocking reads (XREAD BLOCK): a blocked connection cannot serve other commands,
 * and it must wait through reconnects rather than fail after a few retries, hence maxRetriesPerRequest null.
 */
export function connectBlocking(options: ConnectionOptions): Redis {
  if (options instanceof Redis) return quiet(options.duplicate({ maxRetriesPerRequest: null }));
  if (isUrl(options)) {
    const { url, ...rest } = options as { url: string } & RedisOptions;
    return quiet(new Redis(url, { ...rest, maxRetriesPerRequest: null }));
  }
  return quiet(new Redis({ ...options, maxRetriesPerRequest: null }));
}

/** Drops a connection at once: the only way to end a blocked XREAD. Pending commands on it are rejected. */
export function disconnectNow(client: Redis): void {
  client.disconnect();
}

export async function closeConnection(connection: Connection): Promise<void> {
  if (!connection.owned) return;
  await quit(connection.client);
}

/** QUIT when connected (lets queued replies arrive), plain disconnect otherwise; never throws. */
export async function quit(client: Redis): Promise<void> {
  if (client.status === 'end') return;
  if (client.status === 'ready') {
    try {
      await client.quit();
      return;
    } catch {
      // fall through to disconnect
    }
  }
  client.disconnect();
}

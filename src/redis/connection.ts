import { Cluster, Redis, type ClusterNode, type ClusterOptions, type RedisOptions } from 'ioredis';
import { keySlot } from './slot.js';

/**
 * A Redis Cluster sluice opens itself: a few of its masters to start from (ioredis finds the others) and
 * ioredis' Cluster options. Per-node settings (password, TLS, timeouts) go in `clusterOptions.redisOptions`.
 */
export interface ClusterConnectionOptions {
  /** Startup nodes: a few of the cluster's masters, `{ host, port }` or `'host:port'`. */
  cluster: ClusterNode[];
  /**
   * ioredis' Cluster options; per-node settings (password, TLS, timeouts) in `redisOptions`. A Queue's
   * `commandTimeout` applies under them.
   *
   * @defaultValue ioredis' defaults
   */
  clusterOptions?: ClusterOptions;
}

/**
 * How a Queue, Worker or QueueEvents reaches Redis: a URL, ioredis options, a cluster's startup nodes, or
 * an ioredis Redis or Cluster instance the caller owns (sluice then never closes it, and duplicates it for
 * the blocking connection it needs).
 */
export type ConnectionOptions = {
  /** A redis:// or rediss:// (TLS) URL; ioredis options may be added beside it. */
  url: string;
} | RedisOptions | Redis | Cluster | ClusterConnectionOptions;
/** What sluice sends commands through: one Redis, or a Cluster that routes each command to its slot's master. */
export type RedisClient = Redis | Cluster;
export type { Cluster, ClusterNode, ClusterOptions, Redis, RedisOptions };

export interface Connection {
  readonly client: RedisClient;
  /** false when the caller passed the instance: close() then leaves it open. */
  readonly owned: boolean;
}

function isUrl(options: ConnectionOptions): options is { url: string } {
  return typeof (options as { url?: unknown }).url === 'string';
}

/**
 * ioredis reads any case of `redis://` but turns TLS on only for a lower-case `rediss://`: `REDISS://`
 * would connect in clear text, password included. URL schemes are case-insensitive (RFC 3986), so the
 * scheme is lower-cased before ioredis sees it.
 */
function lowerScheme(url: string): string {
  return url.replace(/^[a-z][a-z0-9+.-]*:\/\//i, (scheme) => scheme.toLowerCase());
}

function isClusterOptions(options: ConnectionOptions): options is ClusterConnectionOptions {
  return Array.isArray((options as { cluster?: unknown }).cluster);
}

function isInstance(options: ConnectionOptions): options is RedisClient {
  return options instanceof Redis || options instanceof Cluster;
}

/**
 * Opens a connection for commands. `defaults` apply under the caller's own options (a Queue passes a
 * commandTimeout so a frozen Redis cannot hang add() forever); an instance the caller passed is used as is.
 */
export function connect(options: ConnectionOptions, defaults: RedisOptions = {}): Connection {
  if (isInstance(options)) return { client: options, owned: false };
  if (isClusterOptions(options)) {
    // The defaults are per-command settings, which a Cluster applies on its node connections.
    const { clusterOptions } = options;
    const redisOptions = { ...defaults, ...clusterOptions?.redisOptions };
    return { client: quiet(new Cluster(options.cluster, { ...clusterOptions, redisOptions })), owned: true };
  }
  if (isUrl(options)) {
    const { url, ...rest } = options as { url: string } & RedisOptions;
    return { client: quiet(new Redis(lowerScheme(url), { ...defaults, ...rest })), owned: true };
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
function quiet<C extends RedisClient>(client: C): C {
  client.on('error', () => undefined);
  return client;
}

/**
 * A second connection for blocking reads (XREAD BLOCK): a blocked connection cannot serve other commands,
 * and it must wait through reconnects rather than fail after a few retries, hence maxRetriesPerRequest null.
 * On a cluster it is a second Cluster: it holds one connection per master, and the reads of one queue
 * all go to the master of the queue's slot (every key of a queue shares its hash tag), so only that node
 * connection ever blocks. Its node connections do not retry on their own; the Cluster reconnects them.
 */
export function connectBlocking(options: ConnectionOptions): RedisClient {
  if (options instanceof Redis) return quiet(options.duplicate({ maxRetriesPerRequest: null }));
  if (options instanceof Cluster) return quiet(options.duplicate());
  if (isClusterOptions(options)) return quiet(new Cluster(options.cluster, options.clusterOptions));
  if (isUrl(options)) {
    const { url, ...rest } = options as { url: string } & RedisOptions;
    return quiet(new Redis(lowerScheme(url), { ...rest, maxRetriesPerRequest: null }));
  }
  return quiet(new Redis({ ...options, maxRetriesPerRequest: null }));
}

/**
 * Rejections for the blocking reads of connections dropped by disconnectNow, made the first time a read
 * asks (untilDropped).
 */
const drops = new WeakMap<RedisClient, { promise: Promise<never>; reject: (error: Error) => void }>();

function dropOf(client: RedisClient): { promise: Promise<never>; reject: (error: Error) => void } {
  let drop = drops.get(client);
  if (drop === undefined) {
    let reject!: (error: Error) => void;
    const promise = new Promise<never>((_, fail) => (reject = fail));
    promise.catch(() => undefined);
    drop = { promise, reject };
    drops.set(client, drop);
  }
  return drop;
}

/**
 * A blocking read on `client`, ended by disconnectNow(client) even when ioredis would leave it waiting: a
 * Cluster dropped while it reconnects keeps the commands it queued meanwhile, unanswered, for good (its
 * connection pool is already empty, so the pool's 'drain', on which it rejects them, never comes:
 * ioredis 5, cluster/ConnectionPool.js reset). It rejects as ioredis does, with 'Connection is closed.'.
 */
export function untilDropped<T>(client: RedisClient, read: Promise<T>): Promise<T> {
  // Once the drop has answered, the read's own late rejection is nobody's to handle.
  read.catch(() => undefined);
  return Promise.race([read, dropOf(client).promise]);
}

/** Drops a connection at once: the only way to end a blocked XREAD. Pending commands on it are rejected. */
export function disconnectNow(client: RedisClient): void {
  client.disconnect();
  dropOf(client).reject(new Error('Connection is closed.'));
}

export async function closeConnection(connection: Connection): Promise<void> {
  if (!connection.owned) return;
  await quit(connection.client);
}

/** QUIT when connected (lets queued replies arrive), plain disconnect otherwise; never throws. */
export async function quit(client: RedisClient): Promise<void> {
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

/** `host:port` of one server connection: how the connections of two clients to one server are matched. */
function address(node: Redis): string {
  return `${String(node.options.host)}:${String(node.options.port)}`;
}

/**
 * The server connection a command on `key` goes to: the client itself, or on a cluster its connection to
 * the master that serves the key's slot; undefined while the cluster does not know its slots yet.
 */
export function connectionFor(client: RedisClient, key: string): Redis | undefined {
  if (client instanceof Redis) return client;
  const owner = client.slots[keySlot(key)]?.[0];
  return owner === undefined ? undefined : client.nodes('master').find((node) => address(node) === owner);
}

/**
 * `host:port` of the server that serves `key` now: the Redis itself, or on a cluster the master of the key's
 * slot (after waiting for the cluster to learn its slots); undefined when no master owns the slot.
 */
export async function serverFor(client: RedisClient, key: string): Promise<string | undefined> {
  if (client instanceof Redis) return address(client);
  if (client.status !== 'ready') await client.ping();
  return client.slots[keySlot(key)]?.[0];
}

/** `client`'s own connection to the server `node` is connected to (the client itself on a single Redis). */
export function sameServer(client: RedisClient, node: Redis): Redis | undefined {
  if (client instanceof Redis) return client;
  const wanted = address(node);
  return client.nodes('all').find((candidate) => address(candidate) === wanted);
}

/**
 * Every server that can hold a queue's keys, each with its `host:port`: the Redis itself, or every master
 * of a cluster (after waiting for the cluster to learn its slots: until then it knows no nodes).
 */
export async function masters(client: RedisClient): Promise<{ server: string; node: Redis }[]> {
  if (client instanceof Redis) return [{ server: address(client), node: client }];
  // A Cluster queues commands until it is ready; a PING answered means its slots and nodes are known.
  if (client.status !== 'ready') await client.ping();
  return client.nodes('master').map((node) => ({ server: address(node), node }));
}

/**
 * Resolves once a Redis at `url` answers PING, trying every 50 ms for up to `timeoutMs` (a redis-server
 * just spawned refuses connections until it has bound its port). For the testing kit.
 */
export async function waitUntilAnswers(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    // Refused connections are expected until redis-server is up; connect() reports them below.
    client.on('error', () => undefined);
    try {
      await client.connect();
      await client.ping();
      client.disconnect();
      return;
    } catch (error) {
      client.disconnect();
      if (Date.now() > deadline) throw new Error(`redis at ${url} did not answer within ${timeoutMs} ms: ${(error as Error).message}`, { cause: error });
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

import type { QueueKeys } from '../keys.js';
import { connectionFor, sameServer, untilDropped, type Redis, type RedisClient } from './connection.js';

/**
 * The reads an idle Worker blocks on, and ending them early: the only commands sent on a Worker's
 * blocking connection. Scripts cannot block (Redis refuses XREADGROUP BLOCK inside Lua), so claim returns
 * the last ids it saw and the worker blocks here, outside Lua.
 */

/** A blocking connection as unblock() needs it: its server-side id and the connection itself. */
export interface BlockedConnection {
  readonly id: number;
  readonly node: Redis;
}

export class BlockingReads {
  constructor(
    /** The connection the reads block on (its own: a blocked connection serves nothing else). */
    readonly blocking: RedisClient,
    /** A command connection, for CLIENT UNBLOCK. */
    private readonly client: RedisClient,
    private readonly keys: QueueKeys,
  ) {}

  /**
   * Blocks until any of the streams gets an entry after the given id, or `timeoutMs` passes. An add
   * between claim and this read is seen because its id is newer than the one claim returned.
   */
  async waitForWork(streams: readonly string[], ids: readonly string[], timeoutMs: number): Promise<void> {
    await untilDropped(this.blocking, this.blocking.xread('COUNT', 1, 'BLOCK', Math.max(1, Math.ceil(timeoutMs)), 'STREAMS', ...streams, ...ids));
  }

  /**
   * The blocking connection's server-side id, for unblock(): asked on the connection the queue's blocking
   * reads go to (on a cluster, the node connection to the master of the queue's slot); undefined while a
   * cluster does not know its slots yet.
   */
  async connectionId(): Promise<BlockedConnection | undefined> {
    const node = connectionFor(this.blocking, this.keys.ctl);
    if (node === undefined) return undefined;
    return { id: Number(await node.client('ID')), node };
  }

  /** Whether the queue's blocking reads still go to `blocked`: a cluster failover or resharding moves them. */
  stillBlocksOn(blocked: BlockedConnection): boolean {
    return connectionFor(this.blocking, this.keys.ctl) === blocked.node;
  }

  /**
   * Ends the blocking read of connection `blocked` as if it had timed out. Redis checks blocked clients'
   * timeouts on its 10 Hz cron, so a BLOCK timeout fires 50-100 ms late (measured here: 52-96 ms); a
   * worker that knows when the next job is due wakes itself on time with this instead. Client ids are
   * per server, so on a cluster it goes to the server the blocked connection is on.
   */
  async unblock(blocked: BlockedConnection): Promise<void> {
    const via = sameServer(this.client, blocked.node);
    if (via === undefined) return;
    await via.client('UNBLOCK', blocked.id, 'TIMEOUT');
  }
}

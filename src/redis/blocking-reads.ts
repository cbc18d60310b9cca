import type { QueueKeys } from '../keys.js';
import { connectionFor, sameServer, untilDropped, type Redis, type RedisClient } from './connection.js';
import { handedJob, type HandedJob, type Reply } from './replies.js';

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

/** A worker's wake stream, read after entry `from` for up to `count` handed jobs (its registered slots). */
export interface WakeRead {
  readonly key: string;
  readonly from: string;
  readonly count: number;
}

/** What a blocking read returned: the jobs handed to the worker, and the new entries of the other streams. */
export interface WorkSeen {
  readonly handed: HandedJob[];
  readonly seen: { readonly stream: string; readonly ids: string[] }[];
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
   * between claim and this read is seen because its id is newer than the one claim returned. The last
   * stream may be the worker's wake stream (`wake`: up to `count` entries, each a job handed to it); the
   * others are read for their ids alone. Undefined: the read timed out (or was unblocked).
   */
  async waitForWork(streams: readonly string[], ids: readonly string[], timeoutMs: number, wake?: WakeRead): Promise<WorkSeen | undefined> {
    const block = Math.max(1, Math.ceil(timeoutMs));
    if (wake === undefined) {
      const reply = await untilDropped(this.blocking, this.blocking.xread('COUNT', 1, 'BLOCK', block, 'STREAMS', ...streams, ...ids));
      return reply === null ? undefined : { handed: [], seen: reply.map(([stream, entries]) => ({ stream, ids: entries.map(([id]) => id) })) };
    }
    const reply = (await untilDropped(
      this.blocking,
      this.blocking.xreadBuffer('COUNT', Math.max(1, wake.count), 'BLOCK', block, 'STREAMS', ...streams, wake.key, ...ids, wake.from),
    )) as [Buffer, [Buffer, Reply[]][]][] | null;
    if (reply === null) return undefined;
    const seen: WorkSeen = { handed: [], seen: [] };
    for (const [key, entries] of reply) {
      const stream = key.toString();
      if (stream === wake.key) for (const [id, fields] of entries) seen.handed.push(handedJob(id.toString(), fields));
      else seen.seen.push({ stream, ids: entries.map(([id]) => id.toString()) });
    }
    return seen;
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

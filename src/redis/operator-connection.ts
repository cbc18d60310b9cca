import { RedisUnavailableError } from '../errors.js';
import { connect, type Connection } from './connection.js';

/**
 * The connection of an operator's command (`sluice queues`, `sluice dashboard`): it connects and PINGs
 * once, up front, and when that fails says why in words that name no address and no credential: the URL
 * may hold a password, and a host name is an internal detail that ends up in CI logs. A command line fails
 * at once rather than retrying a wrong password; after the first contact it reconnects as asked.
 */

export interface OperatorConnectionOptions {
  /** A command Redis does not answer within this rejects (RedisTimeoutError). */
  commandTimeoutMs: number;
  /**
   * After the first contact, a lost connection is tried again: 'few' times (a command's run: 3 tries over
   * 1.2 s, then its commands fail) or 'always' (a server, every 2 s at most).
   */
  reconnect: 'few' | 'always';
}

/** A TCP connect (and TLS handshake) that takes longer than this has failed. */
export const CONNECT_TIMEOUT_MS = 5000;

export async function openOperatorConnection(url: string, options: OperatorConnectionOptions): Promise<Connection> {
  let reached = false;
  const connection = connect(
    { url },
    {
      lazyConnect: true,
      connectTimeout: CONNECT_TIMEOUT_MS,
      commandTimeout: options.commandTimeoutMs,
      retryStrategy: (times: number) => {
        if (!reached) return null;
        if (options.reconnect === 'always') return Math.min(times * 200, 2000);
        return times > 3 ? null : times * 200;
      },
    },
  );
  const { client } = connection;
  // connect() rejects with "Connection is closed."; the reason came on the error event just before.
  let reason: unknown;
  const remember = (error: unknown): void => {
    reason = error;
  };
  client.on('error', remember);
  try {
    await client.connect();
    await client.ping();
    reached = true;
    return connection;
  } catch (error) {
    client.disconnect();
    throw new RedisUnavailableError(`cannot reach Redis: ${why(reason ?? error)}`, { cause: reason ?? error });
  } finally {
    client.off('error', remember);
  }
}

/** Why the first contact failed, without the address or the credentials ioredis' messages carry. */
export function why(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  const message = error instanceof Error ? error.message : String(error);
  if (message.startsWith('WRONGPASS')) return 'Redis refused the user name or password (WRONGPASS)';
  if (message.startsWith('NOAUTH')) return 'Redis needs a password (NOAUTH): give it in the URL, redis://:PASSWORD@host:port, or redis://USER:PASSWORD@host:port for an ACL user';
  if (message.startsWith('NOPERM')) return "Redis' ACL refuses this user PING or HELLO (NOPERM): allow them in its rule";
  if (message === 'Command timed out') return 'Redis accepted the connection but did not answer PING in time (frozen, or overloaded)';
  switch (code) {
    case 'ECONNREFUSED':
      return 'nothing accepts connections at the host and port of the URL (ECONNREFUSED): is Redis running there?';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `the host name of the URL does not resolve (${code})`;
    case 'ETIMEDOUT':
      return `no connection within ${CONNECT_TIMEOUT_MS / 1000} s (ETIMEDOUT): check the host, the port, a firewall, and rediss:// against redis://`;
    case 'ECONNRESET':
    case 'EPIPE':
      return `the server closed the connection (${code}): a rediss:// URL for a server without TLS, or redis:// for one that requires it?`;
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return `the host cannot be reached (${code})`;
    default:
      break;
  }
  if ((code !== undefined && /^ERR_(SSL|TLS)|CERT|_SIGNATURE|SELF_SIGNED/.test(code)) || /certificate|SSL|TLS/i.test(message)) {
    return `the TLS handshake failed (${code ?? 'TLS'}): check rediss:// and the server's certificate`;
  }
  if (message.startsWith('Unknown RESP type')) return 'something answered that is not Redis (check the port)';
  return `the connection failed (${code ?? (error instanceof Error ? error.name : 'unknown error')})`;
}

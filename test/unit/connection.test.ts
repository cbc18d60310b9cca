import { describe, expect, it } from 'vitest';
import { connect, connectBlocking, type RedisClient, type RedisOptions } from '../../src/redis/connection.js';

/** How a `{ url }` becomes an ioredis connection (lazyConnect: nothing is dialled). */
describe('connect({ url })', () => {
  it('reads the scheme in any case: REDISS:// turns TLS on as rediss:// does, REDIS:// does not', () => {
    const opened: RedisClient[] = [];
    try {
      for (const [url, tls] of [
        ['rediss://cache:6380', true],
        ['REDISS://cache:6380', true],
        ['RediSS://cache:6380', true],
        ['REDIS://cache:6380', false],
      ] as const) {
        const { client } = connect({ url, lazyConnect: true });
        const blocking = connectBlocking({ url, lazyConnect: true });
        opened.push(client, blocking);
        for (const c of [client, blocking]) {
          const options = c.options as RedisOptions;
          expect({ url, tls: Boolean(options.tls), host: options.host }).toEqual({ url, tls, host: 'cache' });
        }
      }
    } finally {
      for (const client of opened) client.disconnect();
    }
  });
});

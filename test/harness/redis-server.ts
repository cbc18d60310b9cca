import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';

/**
 * Starts private redis-server processes on free loopback ports, each with its own temp dir. Used by the
 * test harness, the benchmarks and `npm run demo`, so all three start Redis the same way. No vitest here.
 */
export interface TestRedis {
  readonly url: string;
  readonly kind: 'url' | 'spawned' | 'container';
  stop(): Promise<void>;
}

export interface SpawnedRedis extends TestRedis {
  readonly kind: 'spawned';
  readonly port: number;
  readonly dir: string;
  readonly process: ChildProcess;
  /** Sends a signal to redis-server (SIGKILL, SIGSTOP, SIGCONT...). */
  signal(signal: NodeJS.Signals): void;
  /** Starts redis-server again on the same port and dir (after a kill). */
  restart(): Promise<void>;
}

export function hasRedisServer(): boolean {
  return spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

async function waitForPing(url: string, timeoutMs: number): Promise<void> {
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

/** Spawns a private redis-server. `args` adds config, e.g. ['--appendonly', 'yes']. */
export async function spawnRedis(args: readonly string[] = []): Promise<SpawnedRedis> {
  if (!hasRedisServer()) throw new Error(noRedisMessage());
  const dir = mkdtempSync(join(tmpdir(), 'sluice-redis-'));
  let lastError: unknown;
  // A port found free can be taken before redis binds it: try a few.
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    const start = (): ChildProcess =>
      spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, ...args], {
        stdio: 'ignore',
      });
    let child = start();
    const url = `redis://127.0.0.1:${port}`;
    try {
      await waitForPing(url, 10_000);
    } catch (error) {
      lastError = error;
      child.kill('SIGKILL');
      continue;
    }
    const handle: SpawnedRedis = {
      url,
      kind: 'spawned',
      port,
      dir,
      get process() {
        return child;
      },
      signal: (signal) => {
        child.kill(signal);
      },
      restart: async () => {
        child = start();
        await waitForPing(url, 10_000);
      },
      stop: async () => {
        if (child.exitCode === null && child.signalCode === null) {
          const exited = new Promise((resolve) => child.once('exit', resolve));
          child.kill('SIGCONT');
          child.kill('SIGKILL');
          await exited;
        }
        rmSync(dir, { recursive: true, force: true });
      },
    };
    return handle;
  }
  throw new Error(`could not start redis-server: ${String(lastError)}`);
}


export function noRedisMessage(): string {
  return (
    'sluice needs a Redis (>= 6.2): install redis-server (Debian/Ubuntu: apt-get install redis-server; ' +
    'macOS: brew install redis), or set REDIS_URL to one you have'
  );
}

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { GenericContainer as GenericContainerType } from 'testcontainers';
import { waitUntilAnswers } from '../redis/connection.js';

/**
 * Private Redis servers for tests: a redis-server from PATH on a free loopback port with a temp dir of its
 * own, or a container through testcontainers when a Docker engine answers. sluice's own test harness, its
 * benchmarks and `npm run demo` start Redis this way too, so users get what our suite runs on.
 */
/** A Redis for tests, from {@link startRedis}: connect with `{ url }`, and call stop() after the suite. */
export interface TestRedis {
  /** `redis://host:port` of the server: pass `{ connection: { url } }` to a Queue or Worker. */
  readonly url: string;
  /** Where it came from: REDIS_URL ('url'), a redis-server spawned from PATH, or a testcontainers container. */
  readonly kind: 'url' | 'spawned' | 'container';
  /**
   * Stops what startRedis started: kills the spawned redis-server and deletes its directory, or stops the
   * container. Does nothing for a REDIS_URL server, which is not ours.
   */
  stop(): Promise<void>;
}

/** A redis-server this process spawned ({@link spawnRedis}), with the handles fault tests need. */
export interface SpawnedRedis extends TestRedis {
  /** Always 'spawned'. */
  readonly kind: 'spawned';
  /** The loopback port it listens on. */
  readonly port: number;
  /** Its temporary working directory (RDB and AOF files), deleted by stop(). */
  readonly dir: string;
  /** The redis-server child process (a new one after restart()). */
  readonly process: ChildProcess;
  /** Sends a signal to redis-server (SIGKILL, SIGSTOP, SIGCONT...). */
  signal(signal: NodeJS.Signals): void;
  /** Starts redis-server again on the same port and dir (after a kill). */
  restart(): Promise<void>;
}

export function hasRedisServer(): boolean {
  return spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;
}

/** A TCP port free on 127.0.0.1 right now (the OS picks it); another process may take it before you bind it. */
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

/**
 * Spawns a private redis-server from PATH on a free loopback port, with a temporary directory and
 * persistence off unless `args` turn it on; resolves once it answers.
 *
 * @param args - More redis-server arguments, e.g. ['--appendonly', 'yes'].
 * @throws Error when redis-server is not on PATH (saying how to install it) or did not start in 5 tries.
 */
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
      await waitUntilAnswers(url, 10_000);
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
        await waitUntilAnswers(url, 10_000);
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

/** A Redis container, when testcontainers is installed and a Docker engine answers; else undefined. */
async function dockerRedis(): Promise<TestRedis | undefined> {
  try {
    // Optional: testcontainers is not a dependency of sluice. A specifier in a variable keeps TypeScript
    // from requiring it where it is not installed.
    const name = 'testcontainers';
    const { GenericContainer } = (await import(name)) as { GenericContainer: typeof GenericContainerType };
    const container = await new GenericContainer('redis:7-alpine').withExposedPorts(6379).start();
    return {
      url: `redis://${container.getHost()}:${container.getMappedPort(6379)}`,
      kind: 'container',
      stop: async () => {
        await container.stop();
      },
    };
  } catch {
    return undefined;
  }
}

/**
 * A Redis for a test suite, in this order: REDIS_URL when set (shared: use queue names of your own);
 * a redis-server from PATH, spawned with persistence on (as sluice asks of a real Redis) and killed by
 * stop(); a container through testcontainers; else an error that says how to get one.
 */
export async function startRedis(): Promise<TestRedis> {
  const url = process.env.REDIS_URL;
  if (url !== undefined && url !== '') return { url, kind: 'url', stop: () => Promise.resolve() };
  if (hasRedisServer()) return spawnRedis(['--appendonly', 'yes', '--appendfsync', 'no']);
  const container = await dockerRedis();
  if (container !== undefined) return container;
  throw new Error(`${noRedisMessage()}, or start a Docker engine for testcontainers`);
}

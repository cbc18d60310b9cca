/**
 * What of Bottleneck's clustering (datastore 'ioredis') works against the Redis on this machine, with
 * this project's ioredis, and what fails, with the exact error text. Each probe runs on its own fresh
 * redis-server. The figures of the rate-limit benchmark (bench/limits.ts) depend on these answers.
 *
 *   npx tsx bench/bottleneck-redis7.ts
 *
 * The root cause of every failure seen on Redis 7: a Lua script's `redis.error_reply('X')` reaches the
 * client as "ERR X" (Redis 7 adds the ERR code when the message has none), while Bottleneck 2.19.5 looks
 * for its sentinels with `e.message === 'SETTINGS_KEY_NOT_FOUND'`, `=== 'UNKNOWN_CLIENT'` and
 * `indexOf('OVERWEIGHT') === 0`. Its recoveries (re-create the settings, re-register the client) and its
 * overweight message therefore never happen. Upstream: SGrondin/bottleneck #205, #212, #219.
 *
 * Writes bench/results/bottleneck-redis7-<ISO date>.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import Bottleneck from 'bottleneck';
import { Redis } from 'ioredis';
import { spawnRedis, type SpawnedRedis } from '../test/harness/redis-server.js';

const RESULTS_DIR = fileURLToPath(new URL('./results/', import.meta.url));
const PROBE_TIMEOUT_MS = 15_000;

interface Probe {
  readonly id: string;
  readonly what: string;
  /** What Bottleneck is built to do here (its README, its source). */
  readonly intended: string;
  readonly run: (ctx: Context) => Promise<string>;
}

interface Context {
  readonly server: SpawnedRedis;
  readonly admin: Redis;
  /** Limiters made through this are closed after the probe. */
  limiter(options: Bottleneck.ConstructorOptions): Bottleneck;
  group(options: Bottleneck.ConstructorOptions): Bottleneck.Group;
  /** 'error' events of every limiter and group of the probe, in order. */
  readonly errorEvents: string[];
}

interface ProbeResult {
  readonly id: string;
  readonly what: string;
  readonly intended: string;
  readonly verdict: 'works' | 'fails';
  /** What happened: a short description, or the error text exactly as the client got it. */
  readonly observed: string;
  readonly errorEvents: readonly string[];
}

/** Thrown by a probe when Bottleneck did not behave as intended; its message is the observation. */
class Failed extends Error {}

const message = (error: unknown): string => (error instanceof Error ? `${error.constructor.name}: ${error.message}` : String(error));
const noop = (): Promise<void> => Promise.resolve();
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs `count` no-op jobs through `limiter` and returns how long it took; a rejection is a failure. */
async function runJobs(limiter: Bottleneck, count: number): Promise<number> {
  const started = Date.now();
  try {
    await Promise.all(Array.from({ length: count }, () => limiter.schedule(noop)));
  } catch (error) {
    throw new Failed(message(error));
  }
  return Date.now() - started;
}

const PROBES: readonly Probe[] = [
  {
    id: 'error-reply',
    what: "Redis itself: EVAL \"return redis.error_reply('SETTINGS_KEY_NOT_FOUND')\" 0",
    intended: "Bottleneck expects the message 'SETTINGS_KEY_NOT_FOUND' as is",
    run: async ({ admin }) => {
      try {
        await admin.eval("return redis.error_reply('SETTINGS_KEY_NOT_FOUND')", 0);
      } catch (error) {
        const text = error instanceof Error ? error.message : String(error);
        if (text === 'SETTINGS_KEY_NOT_FOUND') return `message '${text}'`;
        throw new Failed(`message '${text}'`);
      }
      throw new Failed('no error at all');
    },
  },
  {
    id: 'min-time',
    what: 'one clustered limiter, minTime 10: ready() and 20 jobs',
    intended: 'jobs run, spaced by 10 ms',
    run: async (ctx) => {
      const limiter = ctx.limiter({ id: 'probe-min-time', minTime: 10 });
      await limiter.ready();
      return `20 jobs in ${await runJobs(limiter, 20)} ms`;
    },
  },
  {
    id: 'reservoir',
    what: 'one clustered limiter, reservoir 10 refreshed every 1,000 ms: 15 jobs',
    intended: '10 jobs at once, the other 5 after the refresh',
    run: async (ctx) => {
      const limiter = ctx.limiter({ id: 'probe-reservoir', reservoir: 10, reservoirRefreshAmount: 10, reservoirRefreshInterval: 1000 });
      await limiter.ready();
      const ms = await runJobs(limiter, 15);
      // The refresh is applied when a limiter next talks to Redis: in clustering that is the heartbeat,
      // every 5 s, when no job finishes meanwhile.
      return `15 jobs in ${ms} ms (the last 5 waited for the refresh)`;
    },
  },
  {
    id: 'group',
    what: 'a clustered Bottleneck.Group, keys g0..g3, minTime 40 each: 8 jobs per key',
    intended: 'each key is its own clustered limiter',
    run: async (ctx) => {
      const group = ctx.group({ id: 'probe-group', minTime: 40 });
      const keys = ['g0', 'g1', 'g2', 'g3'];
      for (const key of keys) await group.key(key).ready();
      const ms = Math.max(...(await Promise.all(keys.map((key) => runJobs(group.key(key), 8)))));
      return `4 x 8 jobs in ${ms} ms`;
    },
  },
  {
    id: 'settings-expired',
    what: 'limiter with timeout 1,000 ms, idle 2 s (its keys expire), then one more job',
    intended: "'SETTINGS_KEY_NOT_FOUND' makes the limiter re-create its settings and run the job (Groups use timeout 300,000 by default)",
    run: async (ctx) => {
      const limiter = ctx.limiter({ id: 'probe-timeout', minTime: 10, timeout: 1000 });
      await runJobs(limiter, 1);
      await sleep(2000);
      const keys = await ctx.admin.keys('b_probe-timeout_*');
      await runJobs(limiter, 1);
      return `job ran after expiry (keys left: ${keys.length})`;
    },
  },
  {
    id: 'cleared-by-peer',
    what: 'limiter A ready; limiter B (same id, clearDatastore: true) starts; then A schedules a job',
    intended: "'UNKNOWN_CLIENT' makes A register again and run the job",
    run: async (ctx) => {
      const a = ctx.limiter({ id: 'probe-clear', minTime: 10 });
      await a.ready();
      const b = ctx.limiter({ id: 'probe-clear', minTime: 10, clearDatastore: true });
      await b.ready();
      await runJobs(b, 1);
      await runJobs(a, 1);
      return "A's job ran";
    },
  },
  {
    id: 'client-timed-out',
    what: "limiter A unseen for longer than clientTimeout (10 s; simulated: its last-seen score moved 11 s back), a peer's next call drops it, then A schedules a job",
    intended: "'UNKNOWN_CLIENT' makes A register again and run the job (as after a long GC pause or a frozen container)",
    run: async (ctx) => {
      const a = ctx.limiter({ id: 'probe-client-timeout', minTime: 10 });
      await a.ready();
      const [client] = await ctx.admin.zrange('b_probe-client-timeout_client_last_seen', '0', '0');
      if (client === undefined) throw new Failed('no client registered');
      await ctx.admin.zadd('b_probe-client-timeout_client_last_seen', String(Date.now() - 11_000), client);
      const peer = ctx.limiter({ id: 'probe-client-timeout', minTime: 10 });
      await runJobs(peer, 1);
      const left = await ctx.admin.zscore('b_probe-client-timeout_client_last_seen', client);
      if (left !== null) return 'the peer did not drop A (nothing to test)';
      await runJobs(a, 1);
      return "A's job ran";
    },
  },
  {
    id: 'overweight',
    what: 'maxConcurrent 1, a job of weight 2',
    intended: "rejected with BottleneckError 'Impossible to add a job having a weight of 2 to a limiter having a maxConcurrent setting of 1'",
    run: async (ctx) => {
      const limiter = ctx.limiter({ id: 'probe-overweight', maxConcurrent: 1 });
      try {
        await limiter.schedule({ weight: 2 }, noop);
      } catch (error) {
        if (error instanceof Bottleneck.BottleneckError) return `rejected: ${message(error)}`;
        throw new Failed(`rejected: ${message(error)}`);
      }
      throw new Failed('the job ran');
    },
  },
];

async function runProbe(probe: Probe): Promise<ProbeResult> {
  const server = await spawnRedis();
  const admin = new Redis(server.url, { maxRetriesPerRequest: 1 });
  const errorEvents: string[] = [];
  const closers: (() => Promise<void>)[] = [];
  const clustering = { datastore: 'ioredis', clientOptions: { host: '127.0.0.1', port: server.port }, Redis } as const;
  const ctx: Context = {
    server,
    admin,
    errorEvents,
    limiter: (options) => {
      const limiter = new Bottleneck({ ...clustering, ...options });
      limiter.on('error', (error: unknown) => errorEvents.push(message(error)));
      closers.push(() => limiter.disconnect(false));
      return limiter;
    },
    group: (options) => {
      const group = new Bottleneck.Group({ ...clustering, ...options });
      group.on('error', (error: unknown) => errorEvents.push(message(error)));
      closers.push(() => group.disconnect(false));
      return group;
    },
  };
  let verdict: ProbeResult['verdict'] = 'works';
  let observed: string;
  let timer: NodeJS.Timeout | undefined;
  try {
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Failed(`no answer within ${PROBE_TIMEOUT_MS / 1000} s`)), PROBE_TIMEOUT_MS);
    });
    observed = await Promise.race([probe.run(ctx), timeout]);
  } catch (error) {
    verdict = 'fails';
    observed = error instanceof Failed ? error.message : `probe error: ${message(error)}`;
  } finally {
    clearTimeout(timer);
    for (const close of closers) await close().catch(() => undefined);
    admin.disconnect();
    await server.stop();
  }
  // Identical events (a heartbeat failing every 5 s) are counted, not repeated.
  const counted = [...new Set(errorEvents)].map((e) => `${errorEvents.filter((x) => x === e).length} x ${e}`);
  return { id: probe.id, what: probe.what, intended: probe.intended, verdict, observed, errorEvents: counted };
}

async function main(): Promise<void> {
  const version = spawnRedisVersion();
  console.log(`Bottleneck clustering ('ioredis' datastore) against ${await version}\n`);
  const results: ProbeResult[] = [];
  for (const probe of PROBES) {
    const r = await runProbe(probe);
    results.push(r);
    console.log(`${r.verdict === 'works' ? 'works' : 'FAILS'}  ${r.id}: ${r.what}`);
    console.log(`       intended: ${r.intended}`);
    console.log(`       observed: ${r.observed}`);
    for (const e of r.errorEvents) console.log(`       'error' event: ${e}`);
  }
  mkdirSync(RESULTS_DIR, { recursive: true });
  const date = new Date().toISOString();
  const file = `${RESULTS_DIR}bottleneck-redis7-${date.slice(0, 19).replace(/:/g, '-')}Z.json`;
  writeFileSync(file, `${JSON.stringify({ date, redis: await version, node: process.version, probes: results }, null, 2)}\n`);
  console.log(`\nResults: ${file}`);
}

async function spawnRedisVersion(): Promise<string> {
  const server = await spawnRedis();
  const admin = new Redis(server.url);
  try {
    const info = await admin.info('server');
    return `Redis ${info.match(/redis_version:(\S+)/)?.[1] ?? 'unknown'}`;
  } finally {
    admin.disconnect();
    await server.stop();
  }
}

try {
  await main();
} catch (error) {
  console.error('probe run failed:', error);
  process.exitCode = 1;
}

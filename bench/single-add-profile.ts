/**
 * What one `queue.add()` costs the producer, on a redis-server of its own (issue 13): adds one at a time
 * (`await queue.add()` in a loop, an HTTP handler's way) and adds kept in flight from one process (`--inflight
 * 100`: an HTTP server under load). Reports jobs/s, the producer's Node CPU per add (process.cpuUsage, user +
 * system), Redis' CPU per add and Redis commands per add (INFO deltas). `--mode ping` measures the floor under
 * a single add: an ioredis PING round trip, one at a time. Profile it with
 *
 *   npx tsx bench/single-add-profile.ts                         20,000 single adds, then 20,000 with 100 in flight
 *   npx tsx bench/single-add-profile.ts --mode single --jobs 50000
 *   node --cpu-prof --cpu-prof-dir=/tmp/prof --import tsx bench/single-add-profile.ts --mode single
 *
 * A warm-up of 2,000 adds runs first (JIT, script load, the queue's init), unmeasured. Pinned with taskset
 * when there is one: redis-server on CPU 0, this process on CPU 1 (bench/environment.ts).
 */
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { Queue } from 'sluice';
import { spawnRedis } from '../test/harness/redis-server.js';
import { pinProcesses } from './environment.js';
import { diff, takeSnapshot } from './redis-stats.js';
import { round } from './stats.js';

interface Email {
  to: string;
  n: number;
}

const WARM_UP = 2000;

const { values } = parseArgs({
  options: {
    jobs: { type: 'string', default: '20000' },
    mode: { type: 'string', default: 'both' },
    inflight: { type: 'string', default: '100' },
    rounds: { type: 'string', default: '1' },
  },
  strict: true,
});
const jobs = Number(values.jobs);
const inflight = Number(values.inflight);
const rounds = Number(values.rounds);
const modes = values.mode === 'both' ? ['single', 'inflight'] : [values.mode];
const labels: Record<string, string> = { single: 'one at a time', inflight: `${inflight} in flight`, ping: 'ping' };

async function oneAtATime(queue: Queue<Email>, count: number): Promise<void> {
  for (let i = 0; i < count; i++) await queue.add('email', { to: 'a@b.c', n: i });
}

async function pings(client: Redis, count: number): Promise<void> {
  for (let i = 0; i < count; i++) await client.ping();
}

/** `width` adds outstanding at all times: each that returns starts the next, as requests arrive under load. */
async function inFlight(queue: Queue<Email>, count: number, width: number): Promise<void> {
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < count) await queue.add('email', { to: 'a@b.c', n: next++ });
  };
  await Promise.all(Array.from({ length: Math.min(width, count) }, lane));
}

const redis = await spawnRedis();
const pinning = pinProcesses(redis, 'the producer');
const stats = new Redis(redis.url);
try {
  console.log(`node ${process.version}, ${pinning.note}, ${jobs} adds per round`);
  for (const mode of modes) {
    for (let r = 0; r < rounds; r++) {
      const queue = new Queue<Email>(`profile-${mode}-${r}`, { connection: { url: redis.url }, redisConfig: 'off' });
      const run = (count: number): Promise<void> =>
        mode === 'ping' ? pings(stats, count) : mode === 'single' ? oneAtATime(queue, count) : inFlight(queue, count, inflight);
      await run(WARM_UP);
      const before = await takeSnapshot(stats);
      const cpu = process.cpuUsage();
      const started = performance.now();
      await run(jobs);
      const elapsed = performance.now() - started;
      const used = process.cpuUsage(cpu);
      const redisDelta = diff(before, await takeSnapshot(stats));
      const label = labels[mode] ?? mode;
      console.log(
        `${label.padEnd(14)} ${String(Math.round(jobs / (elapsed / 1000))).padStart(7)} jobs/s` +
          `  producer ${round((used.user + used.system) / jobs, 1)} µs/add` +
          `  redis ${round(redisDelta.cpuMicros / jobs, 1)} µs/add, ${round(redisDelta.commands / jobs, 2)} commands/add` +
          ` (${redisDelta.byCommand.slice(0, 6).map((c) => `${c.command} ${round(c.calls / jobs, 2)}`).join(', ')})`,
      );
      await queue.obliterate();
      await queue.close();
    }
  }
} finally {
  stats.disconnect();
  await redis.stop();
}

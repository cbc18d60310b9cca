/**
 * The idle path against this machine's floor (issue 13's idle latency): how long one push from Redis takes
 * here, and how far sluice's add -> handler start is from it. Three figures, 200 samples each after a pause
 * of 25-35 ms (so every sample starts from idle, as the comparison bench's latency scenario does), a
 * redis-server of its own, pinned as the comparison bench pins it (Redis on CPU 0, both Node processes on
 * CPU 1):
 *
 * - floor: a bare `XADD` in this process -> a bare blocked `XREAD` returns in a child process;
 * - sluice: `queue.add()` here -> the handler starts in a child Worker at concurrency 1 (the handoff:
 *   lua/includes/handoff.lua);
 * - round trips from idle, one process: `PING`, `XADD`, and `queue.add()` with no worker.
 *
 *   npx tsx bench/idle-floor.ts [--samples 200]
 *
 * Writes bench/results/idle-floor-<ISO date>.json.
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { Queue, Worker } from '../src/index.js';
import { spawnRedis } from '../test/harness/redis-server.js';
import { machineAndLoad, pinProcesses } from './environment.js';
import { writeRunResults } from './results-file.js';

const GAP_MS = 25;
const FILE = fileURLToPath(import.meta.url);

interface Percentiles {
  readonly p50: number;
  readonly p99: number;
}

function percentiles(samples: number[]): Percentiles {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number): number => Number((sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN).toFixed(3));
  return { p50: at(0.5), p99: at(0.99) };
}

const now = (): number => performance.timeOrigin + performance.now();
const pause = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, GAP_MS + Math.random() * 10));

/** The child: a blocked XREAD, or a Worker, reporting when each sample reached it. */
async function child(role: string, url: string): Promise<void> {
  const send = (message: unknown): void => void process.send?.(message);
  if (role === 'reader') {
    const reader = new Redis(url);
    // From the start of the stream, which nothing has written yet: '$' would miss an XADD sent before the read.
    let last = '0-0';
    await reader.ping();
    send('ready');
    for (;;) {
      const reply = await reader.xread('BLOCK', 0, 'STREAMS', 'floor', last);
      const at = now();
      const entries = reply?.[0]?.[1] ?? [];
      last = entries.at(-1)?.[0] ?? last;
      for (const [, fields] of entries) send([Number(fields[1]), at]);
    }
  }
  const worker = new Worker<{ i: number }>('idle-floor', async (job) => send([job.data.i, now()]), { connection: { url }, redisConfig: 'off' });
  worker.on('error', (error) => process.stderr.write(`${error.message}\n`));
  send('ready');
}

/** Samples of `act` (sample i) -> the child reporting sample i, in ms. */
async function pushes(reporter: ReturnType<typeof fork>, samples: number, act: (i: number) => Promise<unknown>): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < samples; i++) {
    await pause();
    const reached = new Promise<number>((resolve) => {
      const on = (message: unknown): void => {
        if (Array.isArray(message) && message[0] === i) {
          reporter.off('message', on);
          resolve(message[1] as number);
        }
      };
      reporter.on('message', on);
    });
    const start = now();
    await act(i);
    times.push((await reached) - start);
  }
  return times;
}

async function roundTrips(samples: number, act: () => Promise<unknown>): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < samples; i++) {
    await pause();
    const start = now();
    await act();
    times.push(now() - start);
  }
  return times;
}

function start(role: string, url: string): Promise<ReturnType<typeof fork>> {
  const forked = fork(FILE, ['--child', role, '--url', url], { execArgv: process.execArgv });
  return new Promise((resolve) => forked.once('message', () => resolve(forked)));
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { samples: { type: 'string' }, child: { type: 'string' }, url: { type: 'string' } } });
  if (values.child !== undefined) return child(values.child, values.url ?? '');
  const samples = Number(values.samples ?? 200);
  const redis = await spawnRedis();
  const pinning = pinProcesses(redis, 'this process and its children');
  const machine = machineAndLoad();
  const url = redis.url;
  const client = new Redis(url);
  try {
    const reader = await start('reader', url);
    const floor = percentiles(await pushes(reader, samples, (i) => client.xadd('floor', '*', 'i', String(i))));
    reader.kill();

    const worker = await start('worker', url);
    const queue = new Queue<{ i: number }>('idle-floor', { connection: { url }, redisConfig: 'off' });
    await pushes(worker, 5, (i) => queue.add('warm-up', { i }));
    const sluice = percentiles(await pushes(worker, samples, (i) => queue.add('sample', { i })));
    worker.kill();
    await queue.close();

    const alone = new Queue<{ i: number }>('idle-floor-alone', { connection: { url }, redisConfig: 'off' });
    await alone.add('warm-up', { i: 0 });
    const ping = percentiles(await roundTrips(samples, () => client.ping()));
    const xadd = percentiles(await roundTrips(samples, () => client.xadd('rtt', '*', 'a', '1')));
    const add = percentiles(await roundTrips(samples, () => alone.add('sample', { i: 0 })));
    await alone.close();

    const rows: [string, Percentiles][] = [
      ['floor: XADD -> blocked XREAD in another process', floor],
      ['sluice: queue.add() -> handler start (Worker, concurrency 1)', sluice],
      ['round trip: PING', ping],
      ['round trip: XADD', xadd],
      ['round trip: queue.add(), no worker', add],
    ];
    console.log(`${pinning.note}; load average ${machine.loadAverage.start}; ${samples} samples each`);
    for (const [label, { p50, p99 }] of rows) console.log(`${label.padEnd(64)} p50 ${p50.toFixed(3)} ms  p99 ${p99.toFixed(3)} ms`);
    const file = writeRunResults({ benchmark: 'idle-floor', date: new Date().toISOString(), machine }, rows.map(([label, figures]) => ({ label, ...figures })));
    console.log(`Results: ${file}`);
  } finally {
    await client.quit();
    await redis.stop();
  }
}

await main();

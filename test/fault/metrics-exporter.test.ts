import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { Queue } from 'sluice';
import { parsePrometheus, sampleValue, type Sample } from '../../examples/autoscale-controller.js';
import { runTs, type Child } from '../harness/child.js';
import { spawnRedis, uniqueQueue, type SpawnedRedis } from '../harness/redis.js';
import { waitFor } from '../harness/wait.js';
import { commandCalls } from '../harness/commandstats.js';

/**
 * `sluice metrics` as a real process against a redis-server that is down at its start, then frozen with
 * SIGSTOP. The exporter must keep answering: an autoscaler and the kubelet's probes depend on it.
 */

/** Prometheus' default scrape_timeout: a scrape answered later counts as a failed scrape. */
const SCRAPE_TIMEOUT_MS = 10_000;
/** The readiness probe's timeoutSeconds in examples/k8s/exporter.yaml. */
const PROBE_TIMEOUT_MS = 2000;

let redis: SpawnedRedis | undefined;
let exporter: Child | undefined;
afterEach(async () => {
  redis?.signal('SIGCONT');
  exporter?.process.kill('SIGKILL');
  await redis?.stop();
  redis = undefined;
  exporter = undefined;
});

/** Starts `sluice metrics` on a free port; resolves with its port once it says it serves. */
async function startExporter(url: string, queues: readonly string[], extra: readonly string[] = []): Promise<{ child: Child; port: number }> {
  const child = runTs('src/cli.ts', ['metrics', '--queues', queues.join(','), '--redis', url, '--port', '0', ...extra], {});
  exporter = child;
  // Bounds a hang only. Before the fix it listened after its first reads, which ioredis gave up on only
  // after about 80 s of retries with Redis down.
  await waitFor('the exporter to serve', () => child.lines.some((line) => line.includes(' on port ')) || child.process.exitCode !== null, 30_000);
  const port = Number(/ on port (\d+)/.exec(child.lines.join('\n'))?.[1]);
  expect(port).toBeGreaterThan(0);
  return { child, port };
}

async function get(port: number, path: string, timeoutMs: number): Promise<{ status: number; body: string }> {
  const response = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(timeoutMs) });
  return { status: response.status, body: await response.text() };
}

async function scrape(port: number): Promise<Sample[]> {
  const { status, body } = await get(port, '/metrics', SCRAPE_TIMEOUT_MS);
  expect(status).toBe(200);
  return parsePrometheus(body);
}

const waiting = (samples: Sample[], queue: string): number | undefined => sampleValue(samples, 'sluice_queue_jobs', { queue, state: 'waiting' });

describe('sluice metrics while Redis is down or frozen', () => {
  it('started with Redis down: serves at once, /healthz 503 and the queue left out; reads the recorded levels once Redis is up', async () => {
    const own = await spawnRedis(['--appendonly', 'yes', '--appendfsync', 'always']);
    redis = own;
    const name = uniqueQueue('exp-down');
    // A queue with 5 levels and a job on the last one: the exporter can only report it if it reads the
    // levels the queue recorded, which it cannot while Redis is down.
    const queue = new Queue(name, { connection: { url: own.url }, priorityLevels: 5 });
    try {
      await queue.add('x', 1, { priority: 4 });
    } finally {
      await queue.close();
    }
    const killed = new Promise((resolve) => own.process.once('exit', resolve));
    own.signal('SIGKILL');
    await killed;

    // Nothing listens on Redis' port now.
    const { child, port } = await startExporter(own.url, [name]);
    const health = await get(port, '/healthz', PROBE_TIMEOUT_MS);
    expect(health.status).toBe(503);
    // The reason is logged locally, not sent to whoever asks over the network.
    for (const internal of [String(own.port), '127.0.0.1', 'ECONNREFUSED']) expect(health.body).not.toContain(internal);
    expect(waiting(await scrape(port), name)).toBeUndefined();
    await waitFor('the exporter to log why it cannot read', () => child.stderr.includes(`127.0.0.1:${own.port}`));
    expect(child.stderr).toContain('ECONNREFUSED');

    await own.restart();
    await waitFor('/healthz to answer 200', async () => (await get(port, '/healthz', PROBE_TIMEOUT_MS)).status === 200, 20_000);
    await waitFor('the queue to be read', async () => waiting(await scrape(port), name) !== undefined, 20_000);
    const samples = await scrape(port);
    expect(sampleValue(samples, 'sluice_queue_waiting_jobs', { queue: name, level: '4' })).toBe(1);
    expect(waiting(samples, name)).toBe(1);
    expect(child.stderr).toContain(`reading queue '${name}' works again`);

    child.process.kill('SIGTERM');
    expect(await child.exited).toBe(0);
  }, 90_000);

  it('Redis frozen with SIGSTOP: /healthz 503 within the probe timeout, /metrics answers without the queues, and concurrent requests share one read', async () => {
    const own = await spawnRedis(['--appendonly', 'yes']);
    redis = own;
    const names = [uniqueQueue('exp-freeze-a'), uniqueQueue('exp-freeze-b')];
    const admin = new Redis(own.url);
    try {
      for (const name of names) {
        const queue = new Queue(name, { connection: { url: own.url } });
        try {
          await queue.add('x', 1);
        } finally {
          await queue.close();
        }
      }
      // No Scheduler: its scripts would be counted with the reads below.
      const { child, port } = await startExporter(own.url, names, ['--no-scheduler']);
      let samples = await scrape(port);
      for (const name of names) expect(waiting(samples, name)).toBe(1);
      const before = await commandCalls(admin);

      own.signal('SIGSTOP');
      const requests = 20;
      const [scrapes, checks] = await Promise.all([
        Promise.all(Array.from({ length: requests }, () => get(port, '/metrics', SCRAPE_TIMEOUT_MS))),
        Promise.all(Array.from({ length: requests }, () => get(port, '/healthz', PROBE_TIMEOUT_MS))),
      ]);
      for (const { status, body } of scrapes) {
        expect(status).toBe(200);
        for (const name of names) expect(waiting(parsePrometheus(body), name)).toBeUndefined();
      }
      for (const { status, body } of checks) {
        expect(status).toBe(503);
        for (const internal of [String(own.port), '127.0.0.1', 'PING', 'timed out']) expect(body).not.toContain(internal);
      }
      await waitFor('the exporter to log the timeouts', () => child.stderr.includes('did not answer within 2000 ms') && child.stderr.includes('no answer to PING within 1000 ms'));
      own.signal('SIGCONT');

      // Back: the commands sent while frozen run now, before the next read's (one connection, in order).
      let after = 0;
      await waitFor(
        'the queues to be read again',
        async () => {
          after++;
          samples = await scrape(port);
          return names.every((name) => waiting(samples, name) === 1);
        },
        20_000,
      );
      const calls = await commandCalls(admin);
      const delta = (command: string): number => (calls.get(command) ?? 0) - (before.get(command) ?? 0);
      // 20 scrapes while frozen made one read (a script call per queue), as did each scrape after.
      expect(delta('fcall') + delta('fcall_ro') + delta('evalsha') + delta('eval')).toBe(names.length * (1 + after));
      // 20 /healthz checks while frozen sent one PING.
      expect(delta('ping')).toBe(1);

      child.process.kill('SIGTERM');
      expect(await child.exited).toBe(0);
    } finally {
      admin.disconnect();
    }
  }, 90_000);
});

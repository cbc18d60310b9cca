import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { Queue, QueueEvents, Worker, type Job } from 'sluice';
import { compactOptions, noOptions, normalizeJobOptions, type BackoffOptions, type JobOptions } from '../../src/options.js';
import { loadLua, sha1 } from '../../src/redis/lua.js';
import { encode } from '../../src/serializer.js';
import { runCommand } from '../harness/child.js';
import { uniqueQueue, useRedis } from '../harness/redis.js';
import { waitFor } from '../harness/wait.js';

/**
 * The Python client (clients/python) against this repository: jobs it adds run on a Node Worker, its bytes
 * are the bytes our Queue writes, its scripts are ours, and its own pytest suite passes. The venv is made
 * by clients/python/dev-venv.sh (cached; .ci/run makes it before the suite). Without python3 or pip this
 * file fails, saying so: CI has both, and a skipped cross-language test would hide a broken client.
 */
const redis = useRedis();
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CLIENT = join(ROOT, 'clients/python');
/** The venv's python, or why there is none: each test fails with that reason (counted as failed, not skipped). */
let venv: { python: string } | { error: Error } = { error: new Error('the venv step did not run') };

function python(): string {
  if ('error' in venv) throw venv.error;
  return venv.python;
}

interface PythonRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runPython(args: readonly string[], input: string, cwd = ROOT, env: NodeJS.ProcessEnv = process.env): Promise<PythonRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(python(), args, {
      cwd,
      env: { ...env, PYTHONPATH: join(CLIENT, 'src'), PYTHONDONTWRITEBYTECODE: '1' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input);
  });
}

/** One request to test/fixtures/python-producer.py; its JSON reply. */
async function fixture<T>(request: object): Promise<T> {
  const run = await runPython(['test/fixtures/python-producer.py'], JSON.stringify(request));
  if (run.code !== 0) throw new Error(`python-producer.py exited ${String(run.code)}:\n${run.stderr}`);
  return JSON.parse(run.stdout) as T;
}

beforeAll(async () => {
  const made = await runCommand('bash', [join(CLIENT, 'dev-venv.sh')]);
  if (made.code !== 0) {
    venv = {
      error: new Error(
        `the Python client's venv could not be made (clients/python/dev-venv.sh exited ${String(made.code)}); this test needs ` +
          `python3 with venv and pip, and a package index pip reaches (CI has them):\n${made.stderr}`,
      ),
    };
    return;
  }
  venv = { python: join(made.stdout.trim().split('\n').pop() ?? '', 'bin', 'python') };
}, 300_000);

interface Seen {
  id: string;
  name: string;
  data: Record<string, unknown>;
  priority: number;
  opts: Job['opts'];
  timestamp: number;
  processedOn: number | undefined;
  group: string | undefined;
  attemptsMade: number;
}

describe('the Python client', () => {
  it('a job added from Python (data, delay, priority, jobId) runs on a Node Worker; a duplicate jobId returns the same id', async () => {
    const name = uniqueQueue('py');
    const ids = await fixture<string[]>({
      op: 'add',
      url: redis.url,
      queue: name,
      jobs: [
        {
          name: 'charge',
          data: { order: 'A-1', rich: '$rich' },
          opts: { job_id: 'py-order-1', delay: 300, priority: 0, attempts: 2, backoff: { type: 'fixed', delay: 10 } },
        },
        { name: 'tenant-job', data: { n: 1 }, opts: { group: 'tenant-1', remove_on_complete: { count: 10 } } },
      ],
    });
    expect(ids[0]).toBe('py-order-1');
    expect(ids[1]).toMatch(/^\d+$/);

    const seen = new Map<string, Seen>();
    const queue = new Queue<Record<string, unknown>, string>(name, { connection: redis.connection });
    const events = new QueueEvents(name, { connection: redis.connection });
    const worker = new Worker<Record<string, unknown>, string>(
      name,
      async (job) => {
        const { id, data, priority, opts, timestamp, processedOn, group, attemptsMade } = job;
        seen.set(id, { id, name: job.name, data, priority, opts, timestamp, processedOn, group, attemptsMade });
        // The first attempt fails: the retry shows that attempts and backoff came through.
        if (id === 'py-order-1' && attemptsMade === 0) throw new Error('first attempt fails');
        return `done ${job.name}`;
      },
      { connection: redis.connection },
    );
    try {
      await waitFor('both Python jobs to complete', async () => (await queue.getCounts()).completed === 2);
      const finished = await queue.getJob('py-order-1');
      expect(finished?.returnvalue).toBe('done charge');
      expect(finished?.attemptsMade).toBe(2);

      const order = seen.get('py-order-1') as Seen;
      expect(order.name).toBe('charge');
      expect(order.priority).toBe(0);
      expect(order.opts.attempts).toBe(2);
      expect(order.opts.backoff).toEqual({ type: 'fixed', delay: 10 });
      expect(order.opts.delay).toBe(300);
      // The delay counts on Redis' clock from the add: no run before it passed.
      expect((finished?.processedOn ?? 0) - order.timestamp).toBeGreaterThanOrEqual(300);
      const rich = (order.data as { rich: Record<string, unknown> }).rich;
      expect(order.data.order).toBe('A-1');
      // A ms timestamp past 2^32 is a number, not a BigInt (docs/wire-format.md, "Numbers").
      expect(rich.ts).toBe(1_700_000_000_123);
      expect(rich.negative).toBe(-5_000_000_000);
      expect(rich.big).toBe(2n ** 60n);
      expect(Buffer.isBuffer(rich.blob) && rich.blob.equals(Buffer.from([0, 255]))).toBe(true);
      expect(rich.at).toEqual(new Date('2024-01-02T03:04:05.678Z'));
      expect(rich.pair).toEqual([1, 'two']);

      const grouped = seen.get(ids[1] as string) as Seen;
      expect(grouped.group).toBe('tenant-1');
      expect(grouped.opts.keepCompleted).toEqual({ count: 10, age: -1 });
      expect(grouped.priority).toBe(1);

      // Added again from Python after it completed: the same id, and nothing new runs.
      expect(await fixture<string[]>({ op: 'add', url: redis.url, queue: name, jobs: [{ name: 'charge', data: {}, opts: { job_id: 'py-order-1' } }] })).toEqual([
        'py-order-1',
      ]);
      expect(await queue.getCounts()).toEqual({ waiting: 0, active: 0, delayed: 0, completed: 2, failed: 0, paused: 0, limited: 0, blocked: 0 });
      // The Python adds were seen as events by Node, as ours are.
      expect(await queue.getJob(ids[1] as string).then((job) => job?.waitUntilFinished(events, 1000))).toBe('done tenant-job');
    } finally {
      await worker.close();
      await events.close();
      await queue.close();
    }
  });

  it('stores the bytes our Queue stores: the same options and data encoding', async () => {
    // Each case as Python names it and as our Queue takes it.
    const cases: [Record<string, unknown>, JobOptions][] = [
      [{}, {}],
      [{ attempts: 3 }, { attempts: 3 }],
      [{ attempts: 11, backoff: { type: 'exponential' } }, { attempts: 11, backoff: { type: 'exponential' } }],
      [{ backoff: { type: 'exponential', delay: 250, jitter: 0, max_delay: 60_000 } }, { backoff: { type: 'exponential', delay: 250, jitter: 0, maxDelay: 60_000 } }],
      [{ backoff: { type: 'fixed', delay: 1500.5, jitter: 0.1 } }, { backoff: { type: 'fixed', delay: 1500.5, jitter: 0.1 } }],
      // A strategy's jitter is checked and not stored.
      [{ backoff: { type: 'mine', delay: 7, jitter: 0.3 } }, { backoff: { type: 'mine', delay: 7, jitter: 0.3 } as BackoffOptions }],
      [{ remove_on_complete: true, remove_on_fail: 5 }, { removeOnComplete: true, removeOnFail: 5 }],
      [{ remove_on_complete: false, remove_on_fail: { age: 3600 } }, { removeOnComplete: false, removeOnFail: { age: 3600 } }],
      [{ remove_on_complete: { count: 1000, age: 86_400 } }, { removeOnComplete: { count: 1000, age: 86_400 } }],
      [{ timeout: 30_000, group: 'tenant-é', delay: 5_000_000_000 }, { timeout: 30_000, group: 'tenant-é', delay: 5_000_000_000 }],
      [{ delay: 0, priority: 2, job_id: 'x' }, { delay: 0, priority: 2, jobId: 'x' }],
    ];
    const data: unknown[] = [
      null,
      true,
      0,
      -1,
      127,
      128,
      -33,
      65_535,
      2 ** 31,
      2 ** 32 - 1,
      2 ** 32,
      -(2 ** 31),
      -(2 ** 31) - 1,
      2 ** 53,
      1.5,
      -0.25,
      'x'.repeat(31),
      'x'.repeat(32),
      'é'.repeat(200),
      'y'.repeat(70_000),
      { nested: { list: [1, 'a', null], deep: [[[]]] } },
      Array.from({ length: 20 }, (_, i) => i),
      Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`k${i}`, i])),
    ];
    const fromPython = await fixture<{ options: string[]; data: string[] }>({ op: 'encode', options: cases.map(([py]) => py), data });
    const node = cases.map(([, opts]) => {
      const compact = compactOptions(normalizeJobOptions(opts, {}, 3).stored);
      return noOptions(compact) ? '' : encode(compact, 'job options', 1 << 20).toString('hex');
    });
    expect(fromPython.options).toEqual(node);
    expect(fromPython.data).toEqual(data.map((value) => encode(value, 'job data', 1 << 20).toString('hex')));
  });

  it('runs our scripts, byte for byte, and knows the storage format lua/init.lua and docs/wire-format.md name', async () => {
    const fromPython = await fixture<{ formats: number[]; sha1: Record<string, string> }>({ op: 'scripts' });
    expect(fromPython.sha1).toEqual({ init: sha1(loadLua('init')), add: sha1(loadLua('add')) });
    const format = Number(/^local FORMAT = (\d+)$/m.exec(loadLua('init'))?.[1]);
    expect(fromPython.formats).toContain(format);
    // A format bump fails here until docs/wire-format.md says which format it describes.
    expect(readFileSync(join(ROOT, 'docs/wire-format.md'), 'utf8')).toContain(`**Storage format ${format}.**`);
  });

  it('passes its own pytest suite against a private redis-server', async () => {
    const started = performance.now();
    // Without REDIS_URL the suite starts a private redis-server, where its maxmemory test may run.
    const { REDIS_URL: _shared, ...env } = process.env;
    const run = await runPython(['-m', 'pytest', '-q', '-p', 'no:cacheprovider'], '', CLIENT, env);
    const summary = run.stdout.trim().split('\n').pop() ?? '';
    if (run.code !== 0) throw new Error(`pytest exited ${String(run.code)}: ${summary}\n${run.stdout}\n${run.stderr}`);
    expect(summary).toMatch(/^\d+ passed/);
    expect(summary).not.toMatch(/failed|error|skipped/);
    // Measured at about 4 s; the bound keeps the suite from growing slow unnoticed.
    expect(performance.now() - started).toBeLessThan(25_000);
  }, 60_000);
});

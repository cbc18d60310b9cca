import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Queue } from 'sluice';
import { runFixture } from '../harness/child.js';
import { spawnRedis, uniqueQueue, type SpawnedRedis } from '../harness/redis.js';
import { sleep, waitFor } from '../harness/wait.js';

let redis: SpawnedRedis;
beforeAll(async () => {
  // Persistence as guarantees.md asks for it: every write in the AOF, fsync once a second. A process kill
  // loses nothing acknowledged (the write() happened before the reply); only a power loss could.
  redis = await spawnRedis(['--appendonly', 'yes', '--appendfsync', 'everysec']);
});
afterAll(async () => {
  await redis.stop();
});

describe('redis-server killed with SIGKILL under add + process load, restarted on the same dir', () => {
  it('loses no acknowledged add, reruns only jobs in flight, and workers resume without a restart', async () => {
    const name = uniqueQueue('redis-kill');
    const queue = new Queue<{ ms: number }>(name, { connection: { url: redis.url }, defaultJobOptions: { removeOnComplete: false } });
    const worker = runFixture('worker-process', { REDIS_URL: redis.url, QUEUE: name, CONCURRENCY: '16', JOB_MS: '2', STALLED_TIMEOUT: '2000' });
    await waitFor('the worker', () => worker.lines.includes('ready'), 30_000);

    // The ledger, outside Redis: ids whose add resolved.
    const acknowledged: string[] = [];
    const total = 20_000;
    let killed = false;
    for (let sent = 0; sent < total; sent += 500) {
      if (!killed && sent >= total / 2) {
        killed = true;
        redis.signal('SIGKILL');
        await sleep(300);
        await redis.restart();
      }
      try {
        const jobs = await queue.addBulk(Array.from({ length: 500 }, () => ({ name: 'w', data: { ms: 2 } })));
        acknowledged.push(...jobs.map((job) => job.id));
      } catch {
        // Not acknowledged: it may or may not exist; at-least-once promises nothing for it.
      }
    }
    expect(acknowledged.length).toBeGreaterThanOrEqual(total - 1000);

    let counts: unknown;
    try {
      await waitFor('every acknowledged job to complete', async () => {
        const now = await queue.getCounts();
        counts = now;
        return now.completed >= acknowledged.length;
      }, 90_000);
    } catch (error) {
      // What a hang leaves to look at: the counts, and the worker's last words.
      throw new Error(
        `${(error as Error).message}; ${acknowledged.length} acknowledged, counts ${JSON.stringify(counts)}; ` +
          `worker stderr: ${worker.stderr.slice(-2000)}; last stdout: ${worker.lines.slice(-5).join(' | ')}`,
        { cause: error },
      );
    }
    for (let i = 0; i < acknowledged.length; i += 500) {
      const states = await Promise.all(acknowledged.slice(i, i + 500).map(async (id) => (await queue.getJob(id))?.state));
      expect(states.every((state) => state === 'completed')).toBe(true);
    }
    // Runs per job, from the worker's own ledger: more than one only for jobs in flight at the kill.
    const runs = new Map<string, number>();
    for (const line of worker.lines) if (line.startsWith('start ')) runs.set(line.slice(6), (runs.get(line.slice(6)) ?? 0) + 1);
    const twice = [...runs.entries()].filter(([, n]) => n > 1).map(([id]) => id);
    expect(twice.length).toBeLessThanOrEqual(16);
    for (const id of twice) expect((await queue.getJob(id))?.attemptsStarted).toBeGreaterThanOrEqual(2);

    worker.process.kill('SIGTERM');
    expect(await worker.exited).toBe(0);
    await queue.close();
  }, 150_000);
});

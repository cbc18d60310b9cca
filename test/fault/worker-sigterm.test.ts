import { describe, expect, it } from 'vitest';
import { Queue } from 'sluice';
import { runFixture } from '../harness/child.js';
import { uniqueQueue, useRedis } from '../harness/redis.js';
import { waitFor } from '../harness/wait.js';

const redis = useRedis();

describe('SIGTERM to a worker process mid-batch (Kubernetes scale-in)', () => {
  it('stops claiming, finishes what it started, exits 0; nothing is lost or run twice', async () => {
    const name = uniqueQueue('sigterm');
    const total = 30;
    const queue = new Queue<{ ms: number }>(name, { connection: redis.connection });
    await queue.addBulk(Array.from({ length: total }, () => ({ name: 'work', data: { ms: 300 }, opts: { removeOnComplete: false } })));
    const child = runFixture('worker-process', { REDIS_URL: redis.url, QUEUE: name, CONCURRENCY: '5' });
    await waitFor('five jobs running', () => child.lines.filter((l) => l.startsWith('start ')).length >= 5, 30_000);
    child.process.kill('SIGTERM');
    expect(await child.exited).toBe(0);

    const started = child.lines.filter((l) => l.startsWith('start ')).map((l) => l.slice(6));
    const done = child.lines.filter((l) => l.startsWith('done ')).map((l) => l.slice(5));
    // Every job it had started was finished and settled before it exited; nothing was left half-run.
    expect(done.sort()).toEqual([...started].sort());
    expect(await queue.getCounts()).toMatchObject({ active: 0, completed: started.length, waiting: total - started.length, failed: 0 });
    for (const id of started) expect((await queue.getJob(id))?.attemptsStarted).toBe(1);
    await queue.close();
  }, 60_000);
});

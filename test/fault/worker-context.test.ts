// Job context and the worker registry across real processes: a tenant set in the producer's
// AsyncLocalStorage reaches the handler's AsyncLocalStorage in another process (through job meta and
// middleware) on the first run, after a retry and after a stall (a worker SIGKILLed mid-job, another
// recovers it); queue.getWorkers() lists two worker processes, keeps a killed one for its missed heartbeats
// only, and drops one that exits gracefully at once.
import { AsyncLocalStorage } from 'node:async_hooks';
import { hostname } from 'node:os';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { Queue } from 'sluice';
import { runFixture, type Child } from '../harness/child.js';
import { uniqueQueue, useRedis } from '../harness/redis.js';
import { waitFor } from '../harness/wait.js';

const redis = useRedis();

/** The consumer name a context-worker process printed when it started. */
async function consumerOf(child: Child): Promise<string> {
  await waitFor('the worker process to start', () => child.lines.some((line) => line.startsWith('ready ')), 30_000);
  return (child.lines.find((line) => line.startsWith('ready ')) as string).slice(6);
}

describe('a tenant from the producer AsyncLocalStorage', () => {
  it('is in the handler AsyncLocalStorage of another process: first run, after a retry, after a stall', async () => {
    const name = uniqueQueue('context-processes');
    const als = new AsyncLocalStorage<{ tenant: string }>();
    const queue = new Queue<Record<string, never>, string>(name, { connection: redis.connection, context: () => als.getStore() });
    const plain = await als.run({ tenant: 'acme' }, () => queue.add('plain', {}));
    const flaky = await als.run({ tenant: 'globex' }, () => queue.add('flaky', {}, { attempts: 2, backoff: { type: 'fixed', delay: 50 } }));
    const hang = await als.run({ tenant: 'initech' }, () => queue.add('hang', {}));
    const env = { REDIS_URL: redis.url, QUEUE: name, STALLED_TIMEOUT: '1500', STALLED_INTERVAL: '300' };

    // The first process runs all three; 'hang' never ends there, and the process is killed mid-job.
    const first = runFixture('context-worker', { ...env, HANG: '1' });
    await consumerOf(first);
    await waitFor('plain and flaky completed, hang started', async () => (await queue.getCounts()).completed === 2 && first.lines.includes(`start ${hang.id}`), 30_000);
    first.process.kill('SIGKILL');
    expect(await first.exited).toBe('SIGKILL');
    expect((await queue.getJob(hang.id))?.state).toBe('active');

    // The second takes the stalled job back and runs it.
    const second = runFixture('context-worker', env);
    const rescuer = await consumerOf(second);
    await waitFor('the stalled job to complete', async () => (await queue.getJob(hang.id))?.state === 'completed', 30_000);
    second.process.kill('SIGTERM');
    expect(await second.exited).toBe(0);

    const [plainDone, flakyDone, hangDone] = await Promise.all([plain, flaky, hang].map((job) => queue.getJob(job.id)));
    expect(plainDone).toMatchObject({ returnvalue: 'tenant=acme', attemptsMade: 1 });
    expect(flakyDone).toMatchObject({ returnvalue: 'tenant=globex', attemptsMade: 2 });
    // Started twice (the killed run and the rescue), completed once, by the second process.
    expect(hangDone).toMatchObject({ returnvalue: 'tenant=initech', attemptsStarted: 2, attemptsMade: 1, processedBy: rescuer });
    expect([plainDone?.meta, flakyDone?.meta, hangDone?.meta]).toEqual([{ tenant: 'acme' }, { tenant: 'globex' }, { tenant: 'initech' }]);
    await queue.close();
  }, 90_000);
});

describe('queue.getWorkers() across processes', () => {
  it('lists two worker processes, keeps a killed one until its heartbeats are missed, then drops it', async () => {
    const name = uniqueQueue('workers-processes');
    const admin = new Redis(redis.url);
    const queue = new Queue(name, { connection: redis.connection });
    // stalledTimeout 1500: a heartbeat every 500 ms, so a killed worker drops out 1.5 s after its last one.
    const env = { REDIS_URL: redis.url, QUEUE: name, STALLED_TIMEOUT: '1500' };
    const killed = runFixture('context-worker', { ...env, CONCURRENCY: '2' });
    const survivor = runFixture('context-worker', { ...env, CONCURRENCY: '3' });
    const [killedId, survivorId] = await Promise.all([consumerOf(killed), consumerOf(survivor)]);
    await waitFor('both listed', async () => (await queue.getWorkers()).length === 2, 30_000);
    const listed = new Map((await queue.getWorkers()).map((worker) => [worker.id, worker]));
    expect(listed.get(killedId)).toMatchObject({ host: hostname(), pid: killed.process.pid, concurrency: 2, running: 0, paused: false, heartbeatInterval: 500 });
    expect(listed.get(survivorId)).toMatchObject({ host: hostname(), pid: survivor.process.pid, concurrency: 3 });

    killed.process.kill('SIGKILL');
    expect(await killed.exited).toBe('SIGKILL');
    const killedAt = Date.now();
    // One missed heartbeat is not death.
    expect((await queue.getWorkers()).map((worker) => worker.id).sort()).toEqual([killedId, survivorId].sort());
    await waitFor('the killed worker to drop out', async () => (await queue.getWorkers()).length === 1, 10_000);
    // Its last beat was at most 500 ms before the kill, its entry lasts 1,500 ms after it.
    expect(Date.now() - killedAt).toBeGreaterThanOrEqual(900);
    expect((await queue.getWorkers()).map((worker) => worker.id)).toEqual([survivorId]);
    // The survivor's next beat deletes the dead entry from Redis too.
    await waitFor('the dead entry deleted', async () => (await admin.zcard(queue.store.keys.workers)) === 1 && (await admin.hlen(queue.store.keys.workerInfo)) === 1, 5_000);

    survivor.process.kill('SIGTERM');
    expect(await survivor.exited).toBe(0);
    expect(await queue.getWorkers()).toEqual([]);
    await queue.close();
    await admin.quit();
  }, 60_000);
});

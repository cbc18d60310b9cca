import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { BulkAddError, Queue, ValidationError, Worker, type BatchStatus, type Job } from 'sluice';
import { runFixture } from '../harness/child.js';
import { uniqueQueue, useRedis } from '../harness/redis.js';
import { waitFor } from '../harness/wait.js';

const redis = useRedis();

type Data = Record<string, unknown>;

/** A worker that records every callback job it runs, with what getBatch said at that moment. */
function recordingWorker(
  queue: Queue<Data>,
  fail: (job: Job<Data>) => boolean = () => false,
): { worker: Worker<Data>; callbacks: { name: string; data: Data; status: BatchStatus | undefined }[] } {
  const callbacks: { name: string; data: Data; status: BatchStatus | undefined }[] = [];
  const worker = new Worker<Data>(
    queue.name,
    async (job) => {
      if (job.name === 'member') {
        if (fail(job)) throw new Error(`member ${job.id} fails`);
        return 'ok';
      }
      callbacks.push({ name: job.name, data: job.data, status: await queue.getBatch(String(job.data.batchId)) });
      return 'called';
    },
    { connection: redis.connection, concurrency: 8 },
  );
  return { worker, callbacks };
}

const members = (n: number, opts?: { attempts?: number }): { name: string; data: Data; opts?: { attempts?: number } }[] =>
  Array.from({ length: n }, (_, i) => ({ name: 'member', data: { i }, ...(opts === undefined ? {} : { opts }) }));

describe('batches', () => {
  it('counts exactly and enqueues onComplete and onSuccess once, after the last member, with the totals in their data', async () => {
    const queue = new Queue<Data>(uniqueQueue('batch'), { connection: redis.connection });
    // 450 members: three script calls, the last one sealing.
    const batch = await queue.addBatch(members(450), {
      onComplete: { name: 'report', data: { month: '2026-12' } },
      onSuccess: { name: 'celebrate' },
    });
    expect(await queue.getBatch(batch.id)).toMatchObject({
      id: batch.id, total: 450, pending: 450, completed: 0, failed: 0, sealed: true, doneAt: undefined,
      onComplete: { name: 'report', fired: false, jobId: undefined },
      onSuccess: { name: 'celebrate', fired: false, jobId: undefined },
    });
    const { worker, callbacks } = recordingWorker(queue);
    await waitFor('both callbacks', () => callbacks.length === 2);
    // Let anything that would fire twice do so.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(callbacks.map((c) => c.name).sort()).toEqual(['celebrate', 'report']);
    const report = callbacks.find((c) => c.name === 'report');
    expect(report?.data).toEqual({ month: '2026-12', batchId: batch.id, total: 450, completed: 450, failed: 0 });
    expect(callbacks.find((c) => c.name === 'celebrate')?.data).toEqual({ batchId: batch.id, total: 450, completed: 450, failed: 0 });
    // When the callback ran, every member had completed.
    for (const c of callbacks) expect(c.status).toMatchObject({ pending: 0, completed: 450 });
    const status = await queue.getBatch(batch.id);
    expect(status).toMatchObject({ total: 450, pending: 0, completed: 450, failed: 0, sealed: true });
    expect(status?.doneAt).toBeInstanceOf(Date);
    expect(status?.onComplete?.fired).toBe(true);
    expect(status?.onSuccess?.fired).toBe(true);
    const fired = await queue.getJob(status?.onComplete?.jobId ?? '');
    expect(fired?.name).toBe('report');
    await worker.close();
    await queue.close();
  });

  it('does not enqueue onSuccess while a member failed for good; a retry that completes it fires onSuccess then, onComplete never again', async () => {
    const queue = new Queue<Data>(uniqueQueue('batch'), { connection: redis.connection });
    let failing = true;
    const { worker, callbacks } = recordingWorker(queue, (job) => failing && job.data.i === 3);
    const batch = await queue.addBatch(members(10, { attempts: 1 }), { onComplete: { name: 'report' }, onSuccess: { name: 'celebrate' } });
    await waitFor('onComplete', () => callbacks.length === 1);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(callbacks.map((c) => c.name)).toEqual(['report']);
    expect(callbacks[0]?.data).toEqual({ batchId: batch.id, total: 10, completed: 9, failed: 1 });
    expect(await queue.getBatch(batch.id)).toMatchObject({ pending: 0, completed: 9, failed: 1, onSuccess: { fired: false } });

    // The failed member retried: pending again, then completed.
    failing = false;
    const [failed] = await queue.getJobs('failed');
    expect(failed?.data.i).toBe(3);
    await failed?.retry();
    await waitFor('onSuccess', () => callbacks.length === 2);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(callbacks.map((c) => c.name)).toEqual(['report', 'celebrate']);
    expect(callbacks[1]?.data).toEqual({ batchId: batch.id, total: 10, completed: 10, failed: 0 });
    expect(await queue.getBatch(batch.id)).toMatchObject({ pending: 0, completed: 10, failed: 0, onComplete: { fired: true }, onSuccess: { fired: true } });
    await worker.close();
    await queue.close();
  });

  it('fires at seal time when every member settled before the seal', async () => {
    const queue = new Queue<Data>(uniqueQueue('batch'), { connection: redis.connection });
    const { worker, callbacks } = recordingWorker(queue);
    const batch = await queue.openBatch({ onComplete: { name: 'report' } });
    await batch.addBulk(members(5));
    await batch.add('member', { i: 5 });
    await waitFor('every member to complete', async () => (await batch.getStatus())?.completed === 6);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(callbacks).toEqual([]);
    expect(await batch.getStatus()).toMatchObject({ total: 6, pending: 0, completed: 6, sealed: false, doneAt: undefined, onComplete: { fired: false } });
    await batch.seal();
    // Fired inside the seal's own script: its job id is there when seal() resolves.
    expect((await batch.getStatus())?.onComplete?.fired).toBe(true);
    await waitFor('onComplete', () => callbacks.length === 1);
    expect(callbacks[0]?.data).toEqual({ batchId: batch.id, total: 6, completed: 6, failed: 0 });
    await worker.close();
    await queue.close();
  });

  it('fires an empty batch at once, with zero totals', async () => {
    const queue = new Queue<Data>(uniqueQueue('batch'), { connection: redis.connection });
    const batch = await queue.addBatch([], { id: 'empty-run', onComplete: { name: 'report' }, onSuccess: { name: 'celebrate' } });
    expect(batch.id).toBe('empty-run');
    const status = await queue.getBatch('empty-run');
    expect(status).toMatchObject({ total: 0, pending: 0, completed: 0, failed: 0, sealed: true, onComplete: { fired: true }, onSuccess: { fired: true } });
    const job = await queue.getJob(status?.onComplete?.jobId ?? '');
    expect(job?.data).toEqual({ batchId: 'empty-run', total: 0, completed: 0, failed: 0 });
    await queue.close();
  });

  it('takes members from two producers adding to one open batch at once, counted exactly', async () => {
    const name = uniqueQueue('batch');
    const first = new Queue<Data>(name, { connection: redis.connection });
    const second = new Queue<Data>(name, { connection: redis.connection });
    const batch = await first.openBatch({ onComplete: { name: 'report' } });
    const other = second.batch(batch.id);
    const adds: Promise<unknown>[] = [];
    for (let i = 0; i < 20; i++) {
      adds.push(batch.addBulk(members(7)));
      adds.push(other.addBulk(members(11)));
      adds.push(other.add('member', { i }));
    }
    await Promise.all(adds);
    expect(await first.getBatch(batch.id)).toMatchObject({ total: 20 * 19, pending: 20 * 19, sealed: false });
    await other.seal();
    // Sealed: neither producer can add, and it cannot be sealed again; nothing is written.
    await expect(batch.add('member', {})).rejects.toThrow(ValidationError);
    await expect(other.addBulk(members(3))).rejects.toThrow(`batch '${batch.id}' is sealed`);
    await expect(batch.seal()).rejects.toThrow('cannot be sealed again');
    expect((await first.getCounts()).waiting).toBe(20 * 19);
    const { worker, callbacks } = recordingWorker(first);
    await waitFor('onComplete', () => callbacks.length === 1);
    expect(callbacks[0]?.data).toEqual({ batchId: batch.id, total: 380, completed: 380, failed: 0 });
    await worker.close();
    await first.close();
    await second.close();
  });

  it('counts a member failed for good by the stalled sweep, and a removed member, as failed', async () => {
    const queue = new Queue<Data>(uniqueQueue('batch'), { connection: redis.connection });
    const batch = await queue.addBatch(members(3), { onComplete: { name: 'report' } });
    // A worker that claims and is never heard from again: the sweep takes it back and, past maxStalled 0, fails it.
    const claimed = await queue.store.claim('ghost', 1, 100);
    expect(claimed.kind).toBe('jobs');
    expect(await queue.store.recoverStalled('reaper', 0, 0, 100)).toMatchObject({ requeued: 0, failed: 1 });
    expect(await queue.getBatch(batch.id)).toMatchObject({ pending: 2, completed: 0, failed: 1 });
    const [waiting] = await queue.getJobs('waiting');
    await waiting?.remove();
    expect(await queue.getBatch(batch.id)).toMatchObject({ pending: 1, failed: 2, onComplete: { fired: false } });
    const [last] = await queue.getJobs('waiting');
    await last?.remove();
    const status = await queue.getBatch(batch.id);
    expect(status).toMatchObject({ pending: 0, completed: 0, failed: 3, onComplete: { fired: true } });
    expect((await queue.getJob(status?.onComplete?.jobId ?? ''))?.data).toEqual({ batchId: batch.id, total: 3, completed: 0, failed: 3 });
    // A finished member's removal changes no count.
    const [failed] = await queue.getJobs('failed');
    await failed?.remove();
    expect(await queue.getBatch(batch.id)).toMatchObject({ total: 3, pending: 0, failed: 3 });
    await queue.close();
  });

  it('counts a cancelled member and drained members as failed, the last of them firing onComplete', async () => {
    const queue = new Queue<Data>(uniqueQueue('batch'), { connection: redis.connection });
    const batch = await queue.addBatch(
      [{ name: 'member', data: { i: 0 } }, { name: 'member', data: { i: 1 } }, { name: 'member', data: { i: 2 }, opts: { delay: 60_000 } }],
      { onComplete: { name: 'report' } },
    );
    const [first] = await queue.getJobs('waiting');
    await queue.cancel(first?.id ?? '', 'not needed');
    expect(await queue.getBatch(batch.id)).toMatchObject({ pending: 2, completed: 0, failed: 1, onComplete: { fired: false } });
    // The waiting member and the delayed one, in one drain call.
    expect(await queue.drain()).toBe(2);
    const status = await queue.getBatch(batch.id);
    expect(status).toMatchObject({ total: 3, pending: 0, completed: 0, failed: 3, onComplete: { fired: true } });
    expect((await queue.getJob(status?.onComplete?.jobId ?? ''))?.data).toEqual({ batchId: batch.id, total: 3, completed: 0, failed: 3 });
    await queue.close();
  });

  it('counts delayed and grouped members, and keeps a member of a batch cheap: one fresh entry with its batch in its options', async () => {
    const queue = new Queue<Data>(uniqueQueue('batch'), { connection: redis.connection });
    const batch = await queue.openBatch({ id: 'mixed', onComplete: { name: 'report', opts: { priority: 0, group: 'reports' } } });
    const [plain, delayed, grouped] = await batch.addBulk([
      { name: 'member', data: { i: 0 } },
      { name: 'member', data: { i: 1 }, opts: { delay: 150 } },
      { name: 'member', data: { i: 2 }, opts: { group: 'tenant-1', priority: 2 } },
    ]);
    expect([plain?.opts.batch, delayed?.opts.batch, grouped?.opts.batch]).toEqual(['mixed', 'mixed', 'mixed']);
    expect(delayed?.state).toBe('delayed');
    expect((await queue.getJob(plain?.id ?? ''))?.opts.batch).toBe('mixed');
    const client = new Redis(redis.url);
    // A ready member has no hash: its entry holds it.
    expect(await client.exists(queue.store.keys.job(plain?.id ?? ''))).toBe(0);
    await batch.seal();
    const { worker, callbacks } = recordingWorker(queue);
    await waitFor('onComplete', () => callbacks.length === 1);
    expect(callbacks[0]?.data).toEqual({ batchId: 'mixed', total: 3, completed: 3, failed: 0 });
    const status = await queue.getBatch('mixed');
    const callback = await queue.getJob(status?.onComplete?.jobId ?? '');
    expect([callback?.priority, callback?.group]).toEqual([0, 'reports']);
    // Done: kept keepFor (a day) from now, then gone with its index entry.
    const ttl = await client.pttl(queue.store.keys.batch('mixed'));
    expect(ttl).toBeGreaterThan(86_000_000);
    expect(ttl).toBeLessThanOrEqual(86_400_000);
    await client.quit();
    await worker.close();
    await queue.close();
  });

  it('drops a done batch keepFor seconds later; obliterate deletes open ones', async () => {
    const queue = new Queue<Data>(uniqueQueue('batch'), { connection: redis.connection });
    const done = await queue.addBatch([], { keepFor: 1 });
    const open = await queue.openBatch({ id: 'open-one' });
    await open.addBulk(members(2));
    expect(await queue.getBatch(done.id)).toBeDefined();
    await waitFor('the done batch to expire', async () => (await queue.getBatch(done.id)) === undefined, 5_000);
    expect(await queue.getBatch('open-one')).toMatchObject({ total: 2, sealed: false });
    await queue.obliterate();
    const client = new Redis(redis.url);
    expect(await client.keys(`${queue.store.keys.base}*`)).toEqual([]);
    await client.quit();
    await queue.close();
  });

  it('refuses bad options, unknown and sealed batches and member job ids with ValidationError, writing nothing', async () => {
    const queue = new Queue<Data>(uniqueQueue('batch'), { connection: redis.connection });
    const client = new Redis(redis.url);
    const bad: [string, () => Promise<unknown>, string][] = [
      ['an unknown option', () => queue.openBatch({ callback: 'x' } as never), "unknown batch option 'callback'"],
      ['an all-digit id', () => queue.openBatch({ id: '42' }), 'is all digits'],
      ['an empty id', () => queue.addBatch([], { id: '' }), 'batch id must be a string of 1 to 128 bytes'],
      ['a long id', () => queue.openBatch({ id: 'x'.repeat(129) }), '1 to 128 bytes'],
      ['keepFor 0', () => queue.openBatch({ keepFor: 0 }), 'keepFor must be an integer from 1'],
      ['a callback without a name', () => queue.openBatch({ onComplete: {} as never }), 'job name must be a string'],
      ['callback data that is an array', () => queue.openBatch({ onComplete: { name: 'r', data: [] as never } }), 'must be a plain object'],
      ['callback data with a totals key', () => queue.openBatch({ onSuccess: { name: 'r', data: { total: 1 } } }), "may not have 'total'"],
      ['a delayed callback', () => queue.openBatch({ onComplete: { name: 'r', opts: { delay: 5 } as never } }), "may not set 'delay'"],
      ['a callback priority out of range', () => queue.openBatch({ onComplete: { name: 'r', opts: { priority: 9 } } }), 'priority must be'],
      ['a member with a jobId', () => queue.addBatch([{ name: 'm', data: {}, opts: { jobId: 'x' } as never }]), 'sets jobId'],
      ['a member with labels', () => queue.addBatch([{ name: 'm', data: {}, opts: { labels: ['a'] } as never }]), "sets 'labels'"],
      ['a member with dependsOn', () => queue.addBatch([{ name: 'm', data: {}, opts: { dependsOn: ['1'] } as never }]), "sets 'dependsOn'"],
      ['a callback with dedupe', () => queue.openBatch({ onComplete: { name: 'r', opts: { dedupe: { key: 'k' } } as never } }), "may not set 'dedupe'"],
      ['a member with a bad option', () => queue.addBatch([{ name: 'm', data: {} }, { name: 'm', data: {}, opts: { attempts: 0 } }]), 'attempts must be'],
      ['adding to an unknown batch', () => queue.batch('nope').add('m', {}), "there is no batch 'nope'"],
      ['sealing an unknown batch', () => queue.batch('nope').seal(), "there is no batch 'nope'"],
      ['a bad handle id', async () => queue.batch(7 as never), 'batch id must be a string'],
    ];
    for (const [what, call, message] of bad) {
      const error = await call().then(() => undefined, (e: unknown) => e);
      expect([what, error]).toEqual([what, expect.any(ValidationError)]);
      expect([what, (error as Error).message]).toEqual([what, expect.stringContaining(message)]);
    }
    // Nothing of the queue's jobs or batches was written (the queue's meta and streams exist: adds set it up).
    const keys = (await client.keys(`${queue.store.keys.base}*`)).map((key) => key.slice(queue.store.keys.base.length));
    expect(keys.sort()).toEqual(['admit', 'meta', 'wait:0', 'wait:1', 'wait:2']);
    expect((await queue.getCounts()).waiting).toBe(0);

    await queue.openBatch({ id: 'taken' });
    await expect(queue.openBatch({ id: 'taken' })).rejects.toThrow("batch 'taken' exists");
    await expect(queue.addBatch(members(2), { id: 'taken' })).rejects.toThrow("batch 'taken' exists");
    expect(await queue.getBatch('taken')).toMatchObject({ total: 0, pending: 0, sealed: false });
    expect((await queue.getCounts()).waiting).toBe(0);
    await client.quit();
    await queue.close();
  });

  it('names what a partly refused addBulk wrote: the calls before a seal went in, the ones after did not', async () => {
    const queue = new Queue<Data>(uniqueQueue('batch'), { connection: redis.connection });
    const batch = await queue.openBatch();
    // 1,000 members go as 5 calls; sealing from a second connection lands between them or not at all.
    const other = new Queue<Data>(queue.name, { connection: redis.connection });
    const [added] = await Promise.allSettled([batch.addBulk(members(1000)), other.batch(batch.id).seal()]);
    const status = await queue.getBatch(batch.id);
    if (added.status === 'fulfilled') {
      expect(status?.total).toBe(1000);
    } else if (added.reason instanceof BulkAddError) {
      expect(status?.total).toBe(added.reason.added.length);
      expect(added.reason.added.length + added.reason.failed.length).toBe(1000);
    } else {
      expect(added.reason).toBeInstanceOf(ValidationError);
      expect(status?.total).toBe(0);
    }
    expect((await queue.getCounts()).waiting).toBe(status?.total);
    await other.close();
    await queue.close();
  });
});

describe('batches across processes', () => {
  it('enqueues one callback when the last two members settle at the same moment in two processes', async () => {
    const name = uniqueQueue('batch-race');
    // Concurrency 1: each process holds one member of a batch at a time, so the two of a batch run apart.
    const env = { REDIS_URL: redis.url, QUEUE: name, CONCURRENCY: '1' };
    const workers = [runFixture('batch-worker', env), runFixture('batch-worker', env)];
    await waitFor('both workers ready', () => workers.every((w) => w.lines.includes('ready')), 30_000);
    const queue = new Queue<Data>(name, { connection: redis.connection });
    const rounds = 25;
    const ids: string[] = [];
    for (let round = 0; round < rounds; round++) {
      // Two members that each wait until both started, one in each process: both complete at once.
      const batch = await queue.addBatch(
        [
          { name: 'member', data: { barrier: 2 } },
          { name: 'member', data: { barrier: 2 } },
        ],
        { onComplete: { name: 'report' } },
      );
      ids.push(batch.id);
    }
    const callbacks = (): string[] => workers.flatMap((w) => w.lines.filter((l) => l.startsWith('callback ')));
    await waitFor('every callback', () => callbacks().length >= rounds, 30_000);
    await new Promise((resolve) => setTimeout(resolve, 500));
    const seen = callbacks().map((line) => (JSON.parse(line.slice('callback '.length)) as { batchId: string }).batchId);
    expect(seen.sort()).toEqual([...ids].sort());
    for (const id of ids) expect(await queue.getBatch(id)).toMatchObject({ total: 2, pending: 0, completed: 2, onComplete: { fired: true } });
    // Each batch's two members completed in different processes: the race was real.
    const completed = await queue.getJobs('completed', 0, 3 * rounds);
    const pids = new Map<string, Set<unknown>>();
    for (const job of completed) {
      if (job.name !== 'member') continue;
      const batch = job.opts.batch ?? '';
      pids.set(batch, (pids.get(batch) ?? new Set()).add(job.returnvalue));
    }
    expect([...pids.values()].map((set) => set.size)).toEqual(Array.from({ length: rounds }, () => 2));
    for (const worker of workers) worker.process.kill('SIGTERM');
    await Promise.all(workers.map((w) => w.exited));
    await queue.close();
  }, 90_000);
});

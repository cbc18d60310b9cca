import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { MAX_LABEL_LENGTH, MAX_LABELS, Queue, UnrecoverableError, ValidationError, Worker, type Job } from 'sluice';
import { uniqueQueue, useRedis } from '../harness/redis.js';
import { waitFor } from '../harness/wait.js';

const redis = useRedis();

const ids = (jobs: readonly Job[]): string[] => jobs.map((job) => job.id).sort();

describe('labels: validation', () => {
  it.each([
    [Array.from({ length: MAX_LABELS + 1 }, (_, i) => `l${i}`), `at most ${MAX_LABELS}`],
    [['x'.repeat(MAX_LABEL_LENGTH + 1)], `1 to ${MAX_LABEL_LENGTH} characters`],
    [[''], `1 to ${MAX_LABEL_LENGTH} characters`],
    [['a\nb'], 'control character'],
    [['a', 'a'], "has 'a' twice"],
    [[7], 'must be a string'],
    ['tenant', 'must be an array'],
    [['bad\uD800'], 'lone surrogate'],
  ])('refuses labels %j, writing nothing', async (labels, message) => {
    const name = uniqueQueue('labels-invalid');
    const queue = new Queue(name, { connection: redis.connection });
    await expect(queue.add('x', {}, { labels: labels as string[] })).rejects.toThrow(ValidationError);
    await expect(queue.add('x', {}, { labels: labels as string[] })).rejects.toThrow(message);
    await expect(queue.addBulk([{ name: 'ok', data: {} }, { name: 'x', data: {}, opts: { labels: labels as string[] } }])).rejects.toThrow(ValidationError);
    const client = new Redis(redis.url);
    expect(await client.keys(`sluice:{${name}}:*`)).toEqual([]);
    await client.quit();
    await queue.close();
  });

  it('accepts the bounds exactly, and refuses labels on a schedule', async () => {
    const queue = new Queue(uniqueQueue('labels-bounds'), { connection: redis.connection });
    const labels = Array.from({ length: MAX_LABELS }, (_, i) => `${i}`.padEnd(MAX_LABEL_LENGTH, 'x'));
    const job = await queue.add('x', {}, { labels });
    expect((await queue.getJob(job.id))?.opts.labels).toEqual(labels);
    await expect(queue.upsertSchedule('s', { every: 1000 }, { name: 'x', data: {}, opts: { labels: ['a'] } as never })).rejects.toThrow(ValidationError);
    // Per job only: the scripts that write a flow's jobs, or fire a schedule's, keep no label index.
    expect(() => new Queue('q', { connection: redis.connection, defaultJobOptions: { labels: ['a'] } as never })).toThrow("may not set 'labels'");
    await expect(queue.add('x', {}, { labels: ['a'], dependsOn: [job.id] })).rejects.toThrow('cannot have labels yet');
    await expect(queue.addFlow({ jobs: [{ key: 'a', name: 'x', data: {}, opts: { labels: ['a'] } }] })).rejects.toThrow('cannot have labels yet');
    await expect(queue.add('x', {}, { onFailure: { name: 'y', data: {}, opts: { labels: ['a'] } } })).rejects.toThrow('cannot have labels yet');
    await queue.close();
  });
});

describe('labels: finding jobs', () => {
  it('finds jobs by label in every state through a worker, exact after completes, failures, retries and retention', async () => {
    const name = uniqueQueue('labels-find');
    const queue = new Queue<{ n: number; fail?: boolean }>(name, { connection: redis.connection });
    const added: Job<{ n: number; fail?: boolean }>[] = [];
    for (let n = 0; n < 20; n++) {
      added.push(
        await queue.add(n % 3 === 0 ? 'report' : 'email', { n, fail: n % 5 === 0 }, { labels: [n % 2 === 0 ? 'tenant:a' : 'tenant:b', 'all'], attempts: 1, removeOnComplete: 6 }),
      );
    }
    const plain = await queue.add('email', { n: 99 }, { removeOnComplete: 6 });
    const worker = new Worker<{ n: number; fail?: boolean }>(
      name,
      async (job) => {
        if (job.data.fail === true) throw new UnrecoverableError('no');
        return job.data.n;
      },
      { connection: redis.connection, concurrency: 4 },
    );
    await waitFor('all jobs finished', async () => {
      const counts = await queue.getCounts();
      return counts.waiting === 0 && counts.active === 0;
    });
    await worker.close();

    const failedIds = added.filter((job) => job.data.fail === true).map((job) => job.id);
    const completedLabeled = await queue.getJobs('completed', { label: 'all' });
    // Retention kept the newest 6 completed; the index kept exactly those (the unlabeled job among them is not).
    const retained = (await queue.getJobs('completed', 0, 100)).map((job) => job.id);
    expect(retained).toHaveLength(6);
    expect(ids(completedLabeled)).toEqual(retained.filter((id) => id !== plain.id).sort());
    expect(ids(await queue.getJobs('failed', { label: 'all' }))).toEqual([...failedIds].sort());
    expect(ids(await queue.getJobs('failed', { label: 'tenant:a' }))).toEqual(added.filter((j) => j.data.fail === true && j.data.n % 2 === 0).map((j) => j.id).sort());
    // A name filter within a label, and pages of the matches.
    const reports = await queue.getJobs('failed', { label: 'all', name: 'report' });
    expect(reports.every((job) => job.name === 'report')).toBe(true);
    expect(ids(reports)).toEqual(added.filter((j) => j.data.fail === true && j.name === 'report').map((j) => j.id).sort());
    const pageOne = await queue.getJobs('failed', { label: 'all', start: 1, end: 2 });
    expect(pageOne.map((job) => job.id)).toEqual((await queue.getJobs('failed', { label: 'all' })).slice(1, 3).map((job) => job.id));

    // Retried: back among the label's waiting jobs, gone from its failed ones.
    const again = failedIds[0]!;
    await (await queue.getJob(again))?.retry();
    expect((await queue.getJobs('waiting', { label: 'all' })).map((job) => job.id)).toEqual([again]);
    expect(ids(await queue.getJobs('failed', { label: 'all' }))).not.toContain(again);
    // getLabels counts the jobs that exist now, whatever their state.
    const labels = await queue.getLabels();
    const all = labels.find((entry) => entry.label === 'all');
    expect(all?.jobs).toBe(6 - 1 + failedIds.length);

    await queue.obliterate({ force: true });
    const client = new Redis(redis.url);
    expect(await client.keys(`sluice:{${name}}:*`)).toEqual([]);
    await client.quit();
    await queue.close();
  }, 30_000);

  it('finds a group in waiting from its set, and a name without a label by looking at scanLimit jobs', async () => {
    const queue = new Queue(uniqueQueue('labels-group'), { connection: redis.connection });
    for (let i = 0; i < 30; i++) await queue.add(i % 2 === 0 ? 'even' : 'odd', { i }, { group: i % 3 === 0 ? 'g0' : 'g1' });
    const g0 = await queue.getJobs('waiting', { group: 'g0' });
    expect(g0).toHaveLength(10);
    expect(g0.every((job) => job.group === 'g0')).toBe(true);
    expect((await queue.getJobs('waiting', { group: 'g0', name: 'even' })).every((job) => job.name === 'even' && job.group === 'g0')).toBe(true);
    expect(await queue.getJobs('waiting', { name: 'even' })).toHaveLength(15);
    // Looking at 10 jobs finds the even ones among those only, and says it did not see them all.
    const found = await queue.findJobs('waiting', { name: 'even', scanLimit: 10 });
    expect([found.jobs.length, found.looked, found.complete]).toEqual([5, 10, false]);
    await expect(queue.getJobs('waiting', { label: 'a\nb' })).rejects.toThrow(ValidationError);
    await expect(queue.getJobs('waiting', { nope: 1 } as never)).rejects.toThrow("unknown filter field 'nope'");
    await queue.close();
  });
});

describe('labels: cost for jobs without them', () => {
  it('touches no key of the label index through add, claim, complete, fail, retention, retry and remove', async () => {
    const name = uniqueQueue('labels-none');
    const monitor = await new Redis(redis.url).monitor();
    const touched: string[] = [];
    let seen = 0;
    monitor.on('monitor', (_time: string, args: string[]) => {
      seen++;
      for (const arg of args) if (typeof arg === 'string' && arg.includes(`{${name}}:label`)) touched.push(args.join(' '));
    });
    const queue = new Queue<{ n: number }>(name, { connection: redis.connection });
    for (let n = 0; n < 40; n++) await queue.add('x', { n }, { attempts: 1, removeOnComplete: 5, removeOnFail: 3 });
    const worker = new Worker<{ n: number }>(
      name,
      async (job) => {
        if (job.data.n % 4 === 0) throw new Error('fails');
        return job.data.n;
      },
      { connection: redis.connection, concurrency: 8 },
    );
    await waitFor('all processed', async () => {
      const counts = await queue.getCounts();
      return counts.waiting === 0 && counts.active === 0;
    });
    const [failed] = await queue.getJobs('failed');
    await failed?.retry();
    await waitFor('the retried job ran', async () => (await queue.getCounts()).waiting === 0 && (await queue.getCounts()).active === 0);
    const [completed] = await queue.getJobs('completed');
    await completed?.remove();
    await worker.close();
    await queue.close();
    await waitFor('monitor saw the traffic', () => seen > 100);
    monitor.disconnect();
    expect(touched).toEqual([]);
  }, 30_000);
});

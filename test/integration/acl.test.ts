import { readFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Queue, QueueEvents, Worker } from 'sluice';
import { sampleValue, scrape, startExporter } from '../../examples/autoscale-controller.js';
import { FormClient, serveDashboard } from '../harness/dashboard.js';
import { spawnRedis, uniqueQueue, type SpawnedRedis } from '../harness/redis.js';

/** README's rule for `role`, exactly as written there: the docs cannot drift from what is tested. */
function readmeRule(role: string): string[] {
  const readme = readFileSync(new URL('../../docs/guide/redis-setup.md', import.meta.url), 'utf8');
  const line = readme.split('\n').find((l) => l.startsWith(`ACL SETUSER sluice-${role} `));
  if (line === undefined) throw new Error(`README has no ACL rule for sluice-${role}`);
  return line.split(' ').slice(1).map((part) => (part === '>PASSWORD' ? '>secret' : part));
}

let redis: SpawnedRedis;
let admin: Redis;
const url = (role: string): string => `redis://sluice-${role}:secret@127.0.0.1:${redis.port}`;

beforeAll(async () => {
  // A Redis of its own: FUNCTION FLUSH below must not touch another file's.
  redis = await spawnRedis(['--appendonly', 'yes']);
  admin = new Redis(redis.url);
  for (const role of ['producer', 'worker', 'metrics', 'reader']) await admin.call('ACL', ...readmeRule(role));
  await admin.set('other:secret', 'x');
});
afterAll(async () => {
  await admin.quit();
  await redis.stop();
});

describe("README's ACL recipe", () => {
  it('a producer adds and reads jobs, and cannot flush Redis or read another prefix', async () => {
    await admin.call('FUNCTION', 'FLUSH');
    const name = uniqueQueue('acl-producer');
    const queue = new Queue(name, { connection: { url: url('producer') }, redisConfig: 'off' });
    const job = await queue.add('x', { n: 1 }, { jobId: 'acl-1', delay: 60_000 });
    expect((await queue.getJob(job.id))?.state).toBe('delayed');
    expect(await queue.getCounts()).toMatchObject({ delayed: 1 });
    const producer = new Redis(url('producer'));
    // The durability option's WAIT (this Redis has no replica: 0 acknowledged).
    expect(await producer.call('WAIT', '0', '10')).toBe(0);
    await expect(producer.flushall()).rejects.toThrow(/NOPERM/);
    await expect(producer.get('other:secret')).rejects.toThrow(/NOPERM/);
    await expect(producer.call('FUNCTION', 'FLUSH')).rejects.toThrow(/NOPERM/);
    await expect(producer.call('CONFIG', 'GET', 'requirepass')).rejects.toThrow(/NOPERM/);
    producer.disconnect();
    await queue.close();
  });

  it('a worker runs jobs, delayed ones on time (it ends its own blocked read), and the exporter reads the counts', async () => {
    const name = uniqueQueue('acl-worker');
    const queue = new Queue(name, { connection: { url: url('producer') }, redisConfig: 'off' });
    const events = new QueueEvents(name, { connection: { url: url('worker') } });
    const errors: Error[] = [];
    const worker = new Worker(name, async (job) => `done ${job.name}`, { connection: { url: url('worker') }, redisConfig: 'off' });
    worker.on('error', (error) => errors.push(error));
    const later = await queue.add('later', {}, { delay: 300 });
    const now = await queue.add('now', {});
    expect(await now.waitUntilFinished(events, 10_000)).toBe('done now');
    expect(await later.waitUntilFinished(events, 10_000)).toBe('done later');
    // Its heartbeat registered it under the same rule.
    expect((await queue.getWorkers()).map((w) => w.id)).toEqual([worker.consumer]);
    expect(errors).toEqual([]);

    // The exporter may not load the library (no function|load): it runs the scripts by EVALSHA.
    await admin.call('FUNCTION', 'FLUSH');
    const exporter = await startExporter(url('metrics'), [name]);
    try {
      expect(sampleValue(await scrape(exporter.port), 'sluice_queue_jobs', { queue: name, state: 'completed' })).toBe(2);
    } finally {
      expect(await exporter.stop()).toBe(0);
    }
    const metrics = new Redis(url('metrics'));
    await expect(metrics.get('other:secret')).rejects.toThrow(/NOPERM/);
    await expect(metrics.call('FUNCTION', 'LOAD', '#!lua name=x\nredis.register_function("x", function() return 1 end)')).rejects.toThrow(/NOPERM/);
    metrics.disconnect();
    await worker.close();
    await events.close();
    await queue.close();
  });

  it('a reader reads counts, jobs and metrics with read-only keys, writes nothing, and serves the exporter with --no-scheduler', async () => {
    const name = uniqueQueue('acl-reader');
    const queue = new Queue(name, { connection: { url: url('producer') }, redisConfig: 'off' });
    const [job] = await queue.addBulk([{ name: 'a', data: { n: 1 } }, { name: 'b', data: { n: 2 }, opts: { labels: ['tenant:x'] } }]);
    await admin.call('FUNCTION', 'FLUSH');
    const reader = new Queue(name, { connection: { url: url('reader') }, redisConfig: 'off' });
    expect(await reader.getCounts()).toMatchObject({ waiting: 2 });
    expect((await reader.getJobs('waiting')).map((j) => j.name)).toEqual(['a', 'b']);
    expect((await reader.getJob(job!.id))?.data).toEqual({ n: 1 });
    expect((await reader.getMetrics()).waiting).toBe(2);
    // The label index reads: find-jobs by FCALL_RO, the labels in use by ZREVRANGE.
    expect((await reader.getJobs('waiting', { label: 'tenant:x' })).map((j) => j.name)).toEqual(['b']);
    expect(await reader.getLabels()).toEqual([{ label: 'tenant:x', jobs: 1 }]);
    expect(await reader.getWorkers()).toEqual([]);
    await expect(reader.add('c', {})).rejects.toThrow(/NOPERM/);
    const exporter = await startExporter(url('reader'), [name], ['--no-scheduler']);
    try {
      expect(sampleValue(await scrape(exporter.port), 'sluice_queue_jobs', { queue: name, state: 'waiting' })).toBe(2);
    } finally {
      expect(await exporter.stop()).toBe(0);
    }
    expect(await queue.getCounts()).toMatchObject({ waiting: 2 });
    await reader.close();
    await queue.close();
  });

  it('a read-only dashboard serves every page under sluice-reader, and a writable one acts under sluice-worker', async () => {
    const name = uniqueQueue('acl-dashboard');
    const queue = new Queue(name, { connection: { url: url('worker') }, redisConfig: 'off' });
    const job = await queue.add('later', { n: 1 }, { delay: 600_000 });
    await queue.upsertSchedule('hourly', { every: 3_600_000 }, { name: 'tick', data: {} });
    // The worker's rule covers the prefix's registry of queues too.
    expect(await admin.smembers('sluice:queues')).toContain(name);
    const reader = await serveDashboard({ connection: { url: url('reader') }, readOnly: true });
    try {
      const client = new FormClient(reader.origin);
      const q = `/queues/${name}`;
      for (const path of ['/', '/api/overview', `${q}?state=delayed`, `${q}/jobs/${job.id}`, `${q}/schedules`, `${q}/groups?group=g`, `/api/queues/${name}`, `/api/queues/${name}/jobs/${job.id}`]) {
        const page = await client.get(path);
        expect(page.status, `${path}: ${page.text.slice(0, 300)}`).toBe(200);
      }
      expect((await client.get('/')).text).toContain(`${q}"`);
    } finally {
      await reader.close();
    }
    const writer = await serveDashboard({ connection: { url: url('worker') } });
    try {
      const client = new FormClient(writer.origin);
      await client.get(`/queues/${name}`);
      expect((await client.post(`/queues/${name}/jobs/${job.id}/actions/promote`)).status).toBe(303);
      expect((await queue.getJob(job.id))?.state).toBe('waiting');
    } finally {
      await writer.close();
    }
    await queue.obliterate();
    await queue.close();
  });
});

import { AssertionError } from 'node:assert';
import { describe, expect, it } from 'vitest';
import { Queue, ValidationError, Worker } from 'sluice';
import { expectAdded, expectAllClosed, FakeQueue, runJobs, waitUntilDrained, type Producer } from 'sluice/testing';
import { runCommand } from '../harness/child.js';
import { uniqueQueue, useRedis } from '../harness/redis.js';

// The harness starts this file's Redis with the kit's own startRedis (test/harness/redis-server.ts).
const redis = useRedis();

/** Producer code as a user writes it, typed against Producer so a FakeQueue can stand in. */
async function signUp(queue: Producer<{ email: string; plan?: string }, string>, email: string): Promise<string> {
  await queue.add('welcome', { email, plan: 'free' });
  const receipt = await queue.add('receipt', { email }, { jobId: `receipt-${email}`, delay: 60_000 });
  return receipt.id;
}

describe('sluice/testing against a real queue', () => {
  it('expectAdded finds a job by name and a subset of its data, and says what the queue holds when it cannot', async () => {
    const queue = new Queue<{ email: string; plan?: string }, string>(uniqueQueue('kit-added'), { connection: redis.connection });
    await signUp(queue, 'ada@example.com');
    expect((await expectAdded(queue, 'welcome', { email: 'ada@example.com' })).data).toEqual({ email: 'ada@example.com', plan: 'free' });
    expect((await expectAdded(queue, 'receipt', (data) => data.email.startsWith('ada'))).state).toBe('delayed');
    const missing = await expectAdded(queue, 'welcome', { email: 'bob@example.com' }).catch((error: unknown) => error);
    expect(missing).toBeInstanceOf(AssertionError);
    expect((missing as Error).message).toMatch(/no job 'welcome' with matching data .*\n {2}welcome \(waiting\) \{"email":"ada@example.com"/s);
    await queue.close();
  });

  it('runJobs runs every job through a processor, retries included, and returns results and failures by id', async () => {
    const queue = new Queue<{ n: number }, number>(uniqueQueue('kit-run'), { connection: redis.connection });
    const jobs = await queue.addBulk([1, 2, 3].map((n) => ({ name: 'square', data: { n }, opts: { attempts: 2, backoff: { type: 'fixed', delay: 10 } } })));
    const tries = new Map<number, number>();
    const results = await runJobs(
      queue,
      async (job) => {
        tries.set(job.data.n, (tries.get(job.data.n) ?? 0) + 1);
        if (job.data.n === 3) throw new Error('three is refused');
        // The first try of 2 fails: runJobs waits for its retry.
        if (job.data.n === 2 && tries.get(2) === 1) throw new Error('flaky');
        return job.data.n ** 2;
      },
      { connection: redis.connection, delayed: true },
    );
    expect(Object.fromEntries(results.completed)).toEqual({ [jobs[0]!.id]: 1, [jobs[1]!.id]: 4 });
    expect(Object.fromEntries(results.failed)).toEqual({ [jobs[2]!.id]: 'three is refused' });
    expect(tries.get(3)).toBe(2);
    expect(await queue.getCounts()).toMatchObject({ waiting: 0, active: 0, delayed: 0, completed: 2, failed: 1 });
    await queue.close();
  });

  it("runs a delayed job now in a test as README says: promoteJobs, then runJobs (no fake clock)", async () => {
    const queue = new Queue<{ n: number }, number>(uniqueQueue('kit-delayed'), { connection: redis.connection });
    const job = await queue.add('later', { n: 5 }, { delay: 3_600_000 });
    expect(await queue.promoteJobs()).toBe(1);
    const { completed } = await runJobs(queue, async (j) => j.data.n + 1, { connection: redis.connection });
    expect(Object.fromEntries(completed)).toEqual({ [job.id]: 6 });
    await queue.close();
  });

  it('waitUntilDrained fails with the counts when jobs stay, and expectAllClosed closes and reports what was left open', async () => {
    const name = uniqueQueue('kit-drained');
    const queue = new Queue(name, { connection: redis.connection });
    await queue.add('stays', {});
    const error = await waitUntilDrained(queue, { timeoutMs: 100 }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(AssertionError);
    expect((error as Error).message).toMatch(/was not drained within 100 ms: .*"waiting":1/);
    const worker = new Worker(name, async () => 'done', { connection: redis.connection });
    await waitUntilDrained(queue);
    const left = await expectAllClosed().catch((caught: unknown) => caught);
    expect((left as Error).message).toMatch(new RegExp(`left open \\(now closed\\): Queue '${name}', Worker '${name}'`));
    await expectAllClosed();
    // Closed by expectAllClosed; closing again is harmless.
    await worker.close();
  });
});

describe('FakeQueue', () => {
  it('records what producer code adds, with generated ids and one job per jobId', async () => {
    const queue = new FakeQueue<{ email: string; plan?: string }, string>('signups');
    expect(await signUp(queue, 'ada@example.com')).toBe('receipt-ada@example.com');
    await signUp(queue, 'ada@example.com');
    expect(queue.added.map((job) => [job.id, job.name])).toEqual([
      ['1', 'welcome'],
      ['receipt-ada@example.com', 'receipt'],
      ['2', 'welcome'],
    ]);
    expect(queue.jobsNamed('receipt')).toEqual([{ id: 'receipt-ada@example.com', name: 'receipt', data: { email: 'ada@example.com' }, opts: { jobId: 'receipt-ada@example.com', delay: 60_000 } }]);
    const [welcome] = await queue.addBulk([{ name: 'welcome', data: { email: 'bob@example.com' }, opts: { priority: 0 } }]);
    expect(welcome).toMatchObject({ id: '3', name: 'welcome', priority: 0, state: 'waiting', attemptsMade: 0 });
    queue.clear();
    expect(queue.added).toEqual([]);
  });

  it("stamps meta from its context() as a Queue does, and refuses meta over the cap the same way", async () => {
    let tenant: string | undefined = 'acme';
    const fake = new FakeQueue('stamped', { context: () => (tenant === undefined ? undefined : { tenant }) });
    expect((await fake.add('a', {}, { meta: { user: 'u1' } })).meta).toEqual({ tenant: 'acme', user: 'u1' });
    expect((await fake.addBulk([{ name: 'b', data: {} }]))[0]?.meta).toEqual({ tenant: 'acme' });
    tenant = undefined;
    expect((await fake.add('c', {})).meta).toBeUndefined();
    const real = new Queue('stamped-real', { connection: redis.connection });
    const big = { meta: { blob: 'x'.repeat(2000) } };
    const [fromFake, fromReal] = await Promise.all([fake.add('d', {}, big).catch((e: unknown) => e), real.add('d', {}, big).catch((e: unknown) => e)]);
    expect((fromFake as Error).message).toBe((fromReal as Error).message);
    expect(fake.added.map((job) => job.name)).toEqual(['a', 'b', 'c']);
    await real.close();
  });

  it('refuses what a Queue refuses, with the same errors, and records nothing of a refused bulk', async () => {
    const fake = new FakeQueue('strict', { maxPayloadBytes: 64 });
    const real = new Queue('strict-real', { connection: redis.connection, maxPayloadBytes: 64 });
    const cases: [string, unknown, object | undefined][] = [
      ['', {}, undefined],
      ['x', {}, { priority: 7 }],
      ['x', {}, { jobId: '42' }],
      ['x', {}, { attemps: 3 }],
      ['x', { big: 'y'.repeat(100) }, undefined],
      ['x', new Set([1]), undefined],
    ];
    for (const [name, data, opts] of cases) {
      const fromFake = await fake.add(name, data, opts).catch((error: unknown) => error);
      const fromReal = await real.add(name, data, opts).catch((error: unknown) => error);
      expect(fromFake, `${name} ${JSON.stringify(opts)}`).toBeInstanceOf(Error);
      expect((fromFake as Error).constructor).toBe((fromReal as Error).constructor);
      expect((fromFake as Error).message).toBe((fromReal as Error).message);
    }
    expect(await fake.addBulk([{ name: 'ok', data: {} }, { name: '', data: {} }]).catch((error: unknown) => error)).toBeInstanceOf(ValidationError);
    expect(fake.added).toEqual([]);
    // Workflows need Redis: a FakeQueue says so instead of recording a job that would never wait.
    const flow = await fake.add('x', {}, { dependsOn: ['1'] }).catch((error: unknown) => error);
    expect([flow instanceof ValidationError, (flow as Error).message]).toEqual([true, expect.stringContaining('FakeQueue records no workflows')]);
    await real.close();
  });

  it('gives Jobs whose Redis methods say plainly that a FakeQueue has no Redis', async () => {
    const job = await new FakeQueue('plain').add('x', { a: 1 });
    await expect(job.updateProgress(50)).rejects.toThrow(/a FakeQueue \('plain'\) records jobs and has no Redis/);
  });
});

describe('examples/testing: an app tested with the kit, as a user would', () => {
  // Each example starts a Redis of its own through startRedis: REDIS_URL is left out of its environment.
  const { REDIS_URL: _shared, ...inherited } = process.env;
  const env = { ...inherited, NO_COLOR: '1' };

  it('the vitest suite passes', async () => {
    const { code, stdout, stderr } = await runCommand('npx', ['vitest', 'run', '--config', 'examples/testing/vitest.config.ts'], { env });
    expect(code, `stdout:\n${stdout}\nstderr:\n${stderr}`).toBe(0);
    expect(stdout).toMatch(/Tests\s+2 passed/);
  }, 120_000);

  it('the node:test suite passes', async () => {
    const { code, stdout, stderr } = await runCommand('node', ['--import', 'tsx', '--test', '--test-reporter=tap', 'examples/testing/signup.node.test.ts'], { env });
    expect(code, `stdout:\n${stdout}\nstderr:\n${stderr}`).toBe(0);
    expect(stdout).toMatch(/^# pass 2$/m);
    expect(stdout).toMatch(/^# fail 0$/m);
  }, 120_000);
});

import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { Queue, Worker } from 'sluice';
import { queueKeys } from '../../src/keys.js';
import { KEEP_ALL } from '../../src/options.js';
import type { ClaimedJob } from '../../src/redis/job-fields.js';
import { Status } from '../../src/redis/status.js';
import { QueueStore, type ClaimAlong, type CompleteInput } from '../../src/redis/store.js';
import { Settler } from '../../src/worker/settler.js';
import { uniqueQueue, useRedis } from '../harness/redis.js';
import { sleep, waitFor } from '../harness/wait.js';
import { callsSoFar } from '../harness/commandstats.js';

// A complete that also claims (src/worker/settler.ts): at concurrency 1 a worker settles a job and claims
// the next one in one script call.

const redis = useRedis();

/** Script calls Redis has run so far (INFO commandstats: FCALL, or EVALSHA where Functions are refused). */
function scriptCalls(admin: Redis): Promise<number> {
  return callsSoFar(admin, (command) => command === 'fcall' || command === 'evalsha' || command === 'eval');
}

function count(seen: Map<string, number>, id: string): void {
  seen.set(id, (seen.get(id) ?? 0) + 1);
}

describe('a worker at concurrency 1', () => {
  it('runs N jobs with one script call per job: each complete claims the next job', async () => {
    const jobs = 200;
    const name = uniqueQueue('c1');
    const admin = new Redis(redis.url);
    const queue = new Queue(name, { connection: redis.connection });
    await queue.addBulk(Array.from({ length: jobs }, (_, i) => ({ name: 'n', data: { i } })));
    const before = await scriptCalls(admin);
    const ran = new Map<string, number>();
    let completed = 0;
    const worker = new Worker(name, async (job) => void count(ran, job.id), { connection: redis.connection, schedules: false });
    worker.on('completed', () => void completed++);
    await waitFor('every job', () => completed === jobs);
    const calls = (await scriptCalls(admin)) - before;
    // Besides one call per job: init, the first claim (nothing to settle yet) and the first stalled sweep.
    // Claiming on its own, as before, was two per job (400 here).
    expect(calls).toBeGreaterThanOrEqual(jobs);
    expect(calls).toBeLessThanOrEqual(jobs + 6);
    expect(ran.size).toBe(jobs);
    expect([...ran.values()].every((n) => n === 1)).toBe(true);
    expect(await queue.getCounts()).toMatchObject({ waiting: 0, active: 0, completed: jobs, failed: 0 });
    await worker.close();
    await queue.close();
    await admin.quit();
  });

  it('goes idle on the ids its last complete answered with, and a job added then still runs at once', async () => {
    const name = uniqueQueue('c1-idle');
    const admin = new Redis(redis.url);
    const queue = new Queue(name, { connection: redis.connection });
    await queue.addBulk([{ name: 'a', data: {} }, { name: 'b', data: {} }]);
    const ran: string[] = [];
    // A blockTimeout far past the wait below: only the add can end the blocked read in time.
    const worker = new Worker(name, async (job) => void ran.push(job.name), { connection: redis.connection, schedules: false, blockTimeout: 25_000 });
    let completed = 0;
    worker.on('completed', () => void completed++);
    await waitFor('both jobs', () => completed === 2);
    const idle = await scriptCalls(admin);
    await sleep(300);
    // The complete of the second job said EMPTY: no claim call of its own followed it.
    expect((await scriptCalls(admin)) - idle).toBe(0);
    const added = Date.now();
    await queue.add('c', {});
    await waitFor('the job added while idle', () => ran.length === 3, 3_000);
    expect(Date.now() - added).toBeLessThan(3_000);
    expect(ran).toEqual(['a', 'b', 'c']);
    await worker.close();
    await queue.close();
    await admin.quit();
  });

  it('claims nothing once the queue is paused during a job: the complete answers PAUSED, and resume goes on', async () => {
    const name = uniqueQueue('c1-pause');
    const queue = new Queue(name, { connection: redis.connection });
    await queue.addBulk(Array.from({ length: 6 }, (_, i) => ({ name: `j${i}`, data: {} })));
    const ran: string[] = [];
    const worker = new Worker(
      name,
      async (job) => {
        ran.push(job.name);
        // Paused before this job's complete leaves: that call settles it and claims nothing.
        if (job.name === 'j2') await queue.pause();
      },
      { connection: redis.connection, schedules: false, blockTimeout: 25_000 },
    );
    await waitFor('the pausing job to settle', async () => (await queue.getCounts()).completed === 3);
    await sleep(300);
    expect(ran).toEqual(['j0', 'j1', 'j2']);
    expect(await queue.getCounts()).toMatchObject({ waiting: 0, paused: 3, active: 0, completed: 3 });
    await queue.resume();
    await waitFor('the rest after resume', () => ran.length === 6, 3_000);
    expect(ran).toEqual(['j0', 'j1', 'j2', 'j3', 'j4', 'j5']);
    await worker.close();
    await queue.close();
  });

  it('loses nothing when close() comes while a complete that claims is in flight: the job it claimed runs', async () => {
    const jobs = 20;
    const name = uniqueQueue('c1-close');
    const queue = new Queue(name, { connection: redis.connection });
    await queue.addBulk(Array.from({ length: jobs }, (_, i) => ({ name: 'n', data: { i } })));
    const ran = new Map<string, number>();
    const worker = new Worker(name, async (job) => void count(ran, job.id), { connection: redis.connection, schedules: false });
    let closing: Promise<void> | undefined;
    let claimsInFlight = 0;
    const complete = worker.store.complete.bind(worker.store);
    worker.store.complete = (inputs: readonly CompleteInput[], claim?: ClaimAlong) => {
      const sent = complete(inputs, claim);
      // The fifth job's complete, which claims the sixth: close while it is out.
      if (claim !== undefined && ran.size === 5 && closing === undefined) {
        claimsInFlight++;
        closing = worker.close();
      }
      return sent;
    };
    await waitFor('close to start', () => closing !== undefined);
    await closing;
    expect(claimsInFlight).toBe(1);
    // The sixth job was claimed by that call and ran before close resolved; nothing is left active.
    expect(ran.size).toBe(6);
    expect(await queue.getCounts()).toMatchObject({ waiting: jobs - 6, active: 0, completed: 6 });

    const second = new Worker(name, async (job) => void count(ran, job.id), { connection: redis.connection, schedules: false });
    await waitFor('the rest', async () => (await queue.getCounts()).completed === jobs);
    expect(ran.size).toBe(jobs);
    expect([...ran.values()].every((n) => n === 1)).toBe(true);
    await second.close();
    await queue.close();
  });
});

describe('the Settler taking the claim turn', () => {
  async function setUp(jobs: number): Promise<{ store: QueueStore; client: Redis; claimed: ClaimedJob[] }> {
    const client = new Redis(redis.url);
    const store = new QueueStore(client, queueKeys(uniqueQueue('settler'), 'sluice', 3), 100);
    await store.init(3);
    await store.add(Array.from({ length: jobs }, () => ({ jobId: '', name: 'n', data: Buffer.from([0x80]), opts: Buffer.alloc(0), prio: 1, delay: -1, runAt: -1, group: '' })));
    const reply = await store.claim('a', 2, 100);
    if (reply.kind !== 'jobs') throw new Error(`expected jobs, got ${reply.kind}`);
    return { store, client, claimed: reply.jobs };
  }
  const done = (job: ClaimedJob) => ({ job, result: Buffer.from('r'), keep: KEEP_ALL });

  it('claims with the complete about to leave, asking how many as it leaves; 0 claims nothing', async () => {
    const { store, client, claimed } = await setUp(5);
    const settler = new Settler(store, { consumer: 'a', promoteLimit: 100 });
    expect(settler.claimAlong(() => 1)).toBeUndefined();

    let asked = 0;
    const first = settler.complete(done(claimed[0]!));
    const turn = settler.claimAlong(() => ++asked * 2);
    expect(turn).toBeDefined();
    // One turn at a time.
    expect(settler.claimAlong(() => 1)).toBeUndefined();
    const claim = await turn;
    expect((await first).status).toBe(Status.OK);
    expect(asked).toBe(1);
    expect(claim?.kind === 'jobs' ? claim.jobs.map((j) => j.id) : claim).toEqual(['3', '4']);

    const second = settler.complete(done(claimed[1]!));
    expect(await settler.claimAlong(() => 0)).toBeUndefined();
    expect((await second).status).toBe(Status.OK);
    expect(await store.getCounts()).toMatchObject({ waiting: 1, active: 2, completed: 2 });
    await client.quit();
  });

  it('refuses the turn while a call is in flight: the claim would wait for it', async () => {
    const { store, client, claimed } = await setUp(3);
    const settler = new Settler(store, { consumer: 'a', promoteLimit: 100 });
    const first = settler.complete(done(claimed[0]!));
    // The batch leaves on the next check phase.
    await new Promise((resolve) => setImmediate(resolve));
    const second = settler.complete(done(claimed[1]!));
    expect(settler.claimAlong(() => 1)).toBeUndefined();
    expect((await first).status).toBe(Status.OK);
    expect((await second).status).toBe(Status.OK);
    await settler.drain();
    expect(await store.getCounts()).toMatchObject({ waiting: 1, active: 0, completed: 2 });
    await client.quit();
  });
});

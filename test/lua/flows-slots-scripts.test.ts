import { describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { FlowRelay } from '../../src/flows-relay.js';
import { writeAcrossSlots, type SlotJob } from '../../src/flows-across-slots.js';
import { KEEP_ALL } from '../../src/options.js';
import { lengthPrefixed } from '../../src/redis/packed.js';
import { Status } from '../../src/redis/status.js';
import type { ClaimedJob } from '../../src/redis/job-fields.js';
import type { QueueStore } from '../../src/redis/store.js';
import { encode } from '../../src/serializer.js';
import { useRedis } from '../harness/redis.js';
import { sleep } from '../harness/wait.js';
import { input, openStore } from './store.js';

// A flow across Redis Cluster slots at the script level (lua/add-flow.lua's parts, lua/deliver-notes.lua,
// lua/abandon-flow.lua, the outbox notes of lua/includes/dependents.lua): on one Redis, with each queue's
// scripts touching only its own keys, as on a Cluster (test/fault/flows-cluster.test.ts runs it there).

const redis = useRedis();

interface Queues {
  q1: QueueStore;
  q2: QueueStore;
  client: Redis;
  relay: FlowRelay;
  close: () => Promise<void>;
}

async function queues(): Promise<Queues> {
  const one = await openStore(redis.url);
  const two = await openStore(redis.url);
  return {
    q1: one.store,
    q2: two.store,
    client: one.client,
    relay: new FlowRelay(one.client, 'sluice', 100),
    close: async () => {
      await one.close();
      await two.close();
    },
  };
}

function slotJob(key: string, store: QueueStore, local: number[] = [], overrides: Partial<SlotJob['input']> = {}, external: SlotJob['external'] = []): SlotJob {
  const { name, data, opts, prio, group } = input();
  return { input: { key, jobId: '', name: `${name}-${key}`, data, opts, prio, grp: group, policy: 'fail', ...overrides }, queue: store.keys.name, local, external };
}

async function write(q: Queues, jobs: SlotJob[]): Promise<string[]> {
  const stores = new Map([q.q1, q.q2].map((store) => [store.keys.name, store]));
  const reply = await writeAcrossSlots(jobs, { storeOf: (name) => stores.get(name) as QueueStore, relay: q.relay, maxDependents: 1000 });
  if (!('ids' in reply)) throw new Error(`refused: ${reply.refused} ${reply.detail}`);
  return reply.ids;
}

async function claimOne(store: QueueStore): Promise<ClaimedJob> {
  const reply = await store.claim('w', 1, 100);
  if (reply.kind !== 'jobs') throw new Error(`expected a job, got ${reply.kind}`);
  return reply.jobs[0] as ClaimedJob;
}

/** How many events of `type` each job has in the queue's events stream (src/redis/event-reader.ts's format). */
async function events(store: QueueStore, type: string): Promise<Map<string, number>> {
  const counted = new Map<string, number>();
  for (const [, fields] of await store.client.xrange(store.keys.events, '-', '+')) {
    let kind = '';
    for (let i = 0; i + 1 < fields.length; i += 2) {
      if (fields[i] === '') kind = fields[i + 1] as string;
      else if (kind === type) counted.set(fields[i] as string, (counted.get(fields[i] as string) ?? 0) + 1);
    }
  }
  return counted;
}

describe('flows across slots in the scripts', () => {
  it("A (q1) -> B (q2): B waits by a deps field, A's end is a note in q1's outbox, applied to B once however often it is delivered", async () => {
    const q = await queues();
    // A job without dependents in another slot writes no note: the reply says nothing, the outbox stays empty.
    await q.q1.add([input()]);
    const first = await claimOne(q.q1);
    const plain = await q.q1.complete([{ job: first, result: encode('x', 'r', 64), keep: KEEP_ALL }]);
    expect(plain.noted).toBe(false);
    expect(await q.client.exists(q.q1.keys.outbox)).toBe(0);

    const [a, b] = await write(q, [slotJob('A', q.q1), slotJob('B', q.q2, [0])]);
    // Parts dependents first: q2's B, then q1's A, which links B as a member of another slot.
    expect(await q.client.hmget(q.q2.keys.job(b!), 'state', 'open')).toEqual(['blocked', '1']);
    expect(await q.client.smembers(q.q1.keys.dependents(a!))).toEqual([`>{${q.q2.keys.name}}${b}`]);
    // The flow became whole: the last part's note reached q2's part, whose record is gone.
    expect([await q.client.zcard(q.q2.keys.flows), await q.client.xlen(q.q1.keys.outbox)]).toEqual([0, 0]);

    const claimed = await claimOne(q.q1);
    expect(claimed.id).toBe(a);
    const reply = await q.q1.complete([{ job: claimed, result: encode('from A', 'r', 64), keep: KEEP_ALL }]);
    expect(reply.noted).toBe(true);
    // Atomic with the complete: the note is there, B is not touched yet (another slot).
    const notes = await q.relay.store(q.q1.keys.name).read(10);
    expect(notes.map((n) => [n.kind, n.queue, n.job, n.dep, n.outcome])).toEqual([['e', q.q2.keys.name, b, `{${q.q1.keys.name}}${a}`, 'c']]);
    expect(await q.client.hget(q.q2.keys.job(b!), 'state')).toBe('blocked');

    // Delivered three times (a relay killed before its XDEL, twice): B becomes waiting once.
    for (let i = 0; i < 3; i++) await q.relay.store(q.q2.keys.name).deliver(notes);
    expect(await q.q2.getCounts()).toMatchObject({ waiting: 1, blocked: 0 });
    expect((await events(q.q2, 'waiting')).get(b!)).toBe(1);
    const deps = await q.q2.getDependencies(b!);
    expect(deps[`{${q.q1.keys.name}}${a}`]?.includes(Buffer.from('from A'))).toBe(true);
    // The relay deletes what it applied.
    await q.relay.relay(q.q1.keys.name);
    expect(await q.client.xlen(q.q1.keys.outbox)).toBe(0);
    expect(await q.q2.getCounts()).toMatchObject({ waiting: 1, blocked: 0 });
    await q.close();
  });

  it("carries a traced dependency's process span context across: in the note, then in the dependent's deps value", async () => {
    const q = await queues();
    const [a, b] = await write(q, [slotJob('A', q.q1), slotJob('B', q.q2, [0])]);
    const claimed = await claimOne(q.q1);
    expect(claimed.id).toBe(a);
    const trace = Buffer.from('00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01');
    expect((await q.q1.complete([{ job: claimed, result: encode('from A', 'r', 64), keep: KEEP_ALL, trace }])).noted).toBe(true);
    const notes = await q.relay.store(q.q1.keys.name).read(10);
    expect(notes.map((n) => n.trace.toString())).toEqual([trace.toString()]);
    await q.relay.relay(q.q1.keys.name);
    expect(await q.q2.getCounts()).toMatchObject({ waiting: 1, blocked: 0 });
    // The deps value's fourth part: what the dependent's process span links to (the worker reads it).
    const value = await q.client.hgetBuffer(q.q2.keys.deps(b!), `{${q.q1.keys.name}}${a}`);
    expect(value?.subarray(value.length - trace.length).equals(trace)).toBe(true);
    await q.close();
  });

  it('a failure passes across and back (q1 -> q2 -> q1), and the onFailure job is enqueued once', async () => {
    const q = await queues();
    const [a, b, c, onFailure] = await write(q, [
      slotJob('A', q.q1),
      slotJob('B', q.q2, [0]),
      slotJob('C', q.q1, [1]),
      slotJob('onFailure', q.q1, [0, 1, 2], { policy: 'onfail' }),
    ]);
    // Three parts (q1's C and the onFailure job, q2's B, q1's A) and one note for q2's part and one for q1's.
    expect(await q.client.hget(q.q1.keys.job(c!), 'state')).toBe('blocked');
    const claimed = await claimOne(q.q1);
    expect(claimed.id).toBe(a);
    const reply = await q.q1.fail([{ job: claimed, retryDelay: -1, reason: 'A broke', stack: '', keep: KEEP_ALL }]);
    expect(reply.noted).toBe(true);
    // The onFailure job is in A's slot: waiting at once. B learns of it through the relay, and C from B's end.
    expect((await q.q1.getJob(onFailure!))?.state).toBe('waiting');
    const fromA = await q.relay.store(q.q1.keys.name).read(10);
    expect(fromA.map((n) => [n.queue, n.job, n.outcome])).toEqual([[q.q2.keys.name, b, 'f']]);
    // The relay applies it, and B's end in turn (a note in q2's outbox, relayed next).
    await q.relay.relay(q.q1.keys.name);
    expect(await q.relay.store(q.q2.keys.name).read(10)).toEqual([]);
    // Delivered again, as by a relay killed before its XDEL: nothing changes.
    expect(await q.relay.store(q.q2.keys.name).deliver(fromA)).toEqual({ noted: false, lost: 0 });
    expect((await events(q.q2, 'failed')).get(b!)).toBe(1);
    expect((await q.q2.getJob(b!))?.failedReason).toBe(`dependency 'A' (job ${a} of queue '${q.q1.keys.name}') failed: A broke`);
    const dependent = await q.q1.getJob(c!);
    expect(dependent?.state).toBe('failed');
    expect(dependent?.failedReason).toContain(`dependency 'B' (job ${b} of queue '${q.q2.keys.name}') failed: dependency 'A'`);
    expect((await events(q.q1, 'waiting')).get(onFailure!)).toBe(1);
    expect(await q.q1.getCounts()).toMatchObject({ waiting: 1, blocked: 0, failed: 2 });
    for (const store of [q.q1, q.q2]) {
      expect(await q.client.hget(store.keys.meta, 'linked')).toBe(store === q.q1 ? '1' : '0');
      expect(await q.client.xlen(store.keys.outbox)).toBe(0);
    }
    await q.close();
  });

  it("a part whose flow was never written whole is failed after the timeout; one whose last part's note waits in an outbox is not", async () => {
    const q = await queues();
    const { name, data, opts, prio, group } = input();
    const part = (key: string, deps: (string | Buffer)[], policy: 'fail' | 'onfail' = 'fail') => ({ key, queue: '', jobId: '', name, data, opts, prio, grp: group, policy, deps });
    const remote = (queue: string, id: string, key: string) => Buffer.concat([Buffer.from('R'), lengthPrefixed([queue, id, key])]);
    // Written: q2's part, B waiting for q1's job 9001, which a producer that died never wrote.
    const cut = await q.q2.addFlow([part('B', [remote(q.q1.keys.name, '9001', 'A')]), part('onFailure', ['L1'], 'onfail')], 1000, {
      flow: 'cut',
      last: q.q1.keys.name,
      done: [],
      links: [],
    });
    if (!('ids' in cut)) throw new Error('refused');
    // Another flow whose last part was written (its note to q2 is in q1's outbox), not relayed yet.
    const whole = await q.q2.addFlow([part('D', [remote(q.q1.keys.name, '9002', 'E')])], 1000, { flow: 'whole', last: q.q1.keys.name, done: [], links: [] });
    if (!('ids' in whole)) throw new Error('refused');
    const e = await q.q1.addFlow([part('E', [])], 1000, {
      flow: 'whole',
      last: '',
      done: [q.q2.keys.name],
      links: [{ dependency: 'L1', member: `>{${q.q2.keys.name}}${whole.ids[0]}` }],
    });
    expect('ids' in e).toBe(true);
    expect((await q.client.zrangebyscore(q.q2.keys.flows, '-inf', '+inf')).sort()).toEqual(['cut', 'whole']);

    // Not yet: younger than the timeout.
    expect(await q.relay.sweep(q.q2.keys.name, 60_000)).toBe(0);
    await sleep(20);
    expect(await q.relay.sweep(q.q2.keys.name, 10)).toBe(1);
    const [b, onFailure] = cut.ids;
    const failed = await q.q2.getJob(b!);
    expect(failed?.state).toBe('failed');
    expect(failed?.failedReason).toContain("flow 'cut' was never written whole");
    // Its onFailure job learned it as any failure; the other flow was drained first and still waits for E.
    expect((await q.q2.getJob(onFailure!))?.state).toBe('waiting');
    expect(await q.client.hget(q.q2.keys.job(whole.ids[0]!), 'state')).toBe('blocked');
    expect(await q.client.zcard(q.q2.keys.flows)).toBe(0);
    // A producer that resumes now and says the flow is whole is told it was given up on.
    expect(await q.relay.store(q.q2.keys.name).deliver([{ kind: 'd', job: 'cut', dep: '', outcome: '', value: Buffer.alloc(0) }])).toEqual({ noted: false, lost: 1 });
    // The flow that became whole: told twice (relay, then producer), nothing is lost.
    expect(await q.relay.store(q.q2.keys.name).deliver([{ kind: 'd', job: 'whole', dep: '', outcome: '', value: Buffer.alloc(0) }])).toEqual({ noted: false, lost: 0 });
    expect((await q.q2.getJob(b!))?.state).toBe('failed');
    await q.close();
  });

  it('a part refused after others were written removes them, dependents first: nothing of the flow stays', async () => {
    const q = await queues();
    const before = await q.q2.getCounts();
    const stores = new Map([q.q1, q.q2].map((store) => [store.keys.name, store]));
    // B and C (q2) wait for an existing job of q1 that does not exist: q1's part, written last, refuses.
    const reply = await writeAcrossSlots([slotJob('B', q.q2, [], {}, [{ queue: q.q1.keys.name, id: 'nope' }]), slotJob('C', q.q2, [0])], {
      storeOf: (name) => stores.get(name) as QueueStore,
      relay: q.relay,
      maxDependents: 1000,
    });
    expect(reply).toEqual({ refused: Status.JOB_MISSING, detail: 'nope' });
    expect(await q.q2.getCounts()).toEqual(before);
    expect(await q.client.exists(q.q2.keys.flows, q.q2.keys.linked, q.q1.keys.outbox, q.q2.keys.outbox)).toBe(0);
    expect(await q.client.hget(q.q2.keys.meta, 'linked')).toBe('0');
    // A jobId taken is refused before anything is written.
    await write(q, [slotJob('X', q.q1, [], { jobId: 'taken' })]);
    const taken = await writeAcrossSlots([slotJob('Y', q.q2), slotJob('X', q.q1, [0], { jobId: 'taken' })], {
      storeOf: (name) => stores.get(name) as QueueStore,
      relay: q.relay,
      maxDependents: 1000,
    });
    expect(taken).toEqual({ refused: Status.DUPLICATE, detail: 'taken' });
    expect(await q.q2.getCounts()).toEqual(before);
    await q.close();
  });

  it('an existing job of another slot: linked by a part of its queue, or, ended already, passes its end on', async () => {
    const q = await queues();
    const [done] = await write(q, [slotJob('done', q.q1)]);
    const claimed = await claimOne(q.q1);
    expect(claimed.id).toBe(done);
    await q.q1.complete([{ job: claimed, result: encode(42, 'r', 64), keep: KEEP_ALL }]);
    const [running] = await write(q, [slotJob('running', q.q1)]);
    const [late, waits] = await write(q, [
      slotJob('late', q.q2, [], {}, [{ queue: q.q1.keys.name, id: done! }]),
      slotJob('waits', q.q2, [], {}, [{ queue: q.q1.keys.name, id: running! }]),
    ]);
    // Ended already: its end went through q1's outbox and the producer relayed it.
    expect((await q.q2.getJob(late!))?.state).toBe('waiting');
    const deps = await q.q2.getDependencies(late!);
    expect(Object.keys(deps)).toEqual([`{${q.q1.keys.name}}${done}`]);
    expect(await q.client.hget(q.q2.keys.job(waits!), 'state')).toBe('blocked');
    expect(await q.client.smembers(q.q1.keys.dependents(running!))).toEqual([`>{${q.q2.keys.name}}${waits}`]);
    await q.close();
  });
});

import { Redis, type RedisOptions } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Queue, Worker } from 'sluice';
import { queueKeys } from '../../src/keys.js';
import { lengthPrefixed } from '../../src/redis/packed.js';
import { SCRIPTS, scriptLibrary, type ScriptSpec } from '../../src/redis/scripts.js';
import { QueueStore } from '../../src/redis/store.js';
import { spawnRedis, type SpawnedRedis } from '../harness/redis-server.js';
import { uniqueQueue, useRedis } from '../harness/redis.js';
import { input } from '../lua/store.js';
import { commandCalls } from '../harness/commandstats.js';

const redis = useRedis();

/** Adds and runs three jobs through a Queue and a Worker on `url`; resolves with their results. */
async function roundTrip(url: string, options: RedisOptions = {}): Promise<number[]> {
  const name = uniqueQueue('loading');
  const queue = new Queue<{ n: number }, number>(name, { connection: { url, ...options } });
  const worker = new Worker<{ n: number }, number>(name, async (job) => job.data.n * 2, { connection: { url, ...options } });
  try {
    const jobs = await queue.addBulk([1, 2, 3].map((n) => ({ name: 'double', data: { n } })));
    const deadline = Date.now() + 10_000;
    while ((await queue.getCounts()).completed < 3 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    return Promise.all(jobs.map(async (job) => (await queue.getJob(job.id))?.returnvalue as number));
  } finally {
    await worker.close();
    await queue.close();
  }
}

describe('how scripts reach Redis', () => {
  it('loads the library once for many first calls at once, and runs every script by FCALL', async () => {
    const admin = new Redis(redis.url);
    await admin.call('FUNCTION', 'FLUSH');
    const before = await commandCalls(admin);
    const queue = new Queue(uniqueQueue('first-calls'), { connection: redis.connection });
    await Promise.all(Array.from({ length: 10 }, (_, i) => queue.add('x', { i })));
    expect((await queue.getCounts()).waiting).toBe(10);
    const after = await commandCalls(admin);
    const delta = (command: string): number => (after.get(command) ?? 0) - (before.get(command) ?? 0);
    expect(delta('function|load')).toBe(1);
    expect(delta('evalsha') + delta('eval')).toBe(0);
    // The ten adds share one call (src/adder.ts); the reads are calls of their own.
    expect(delta('fcall') + delta('fcall_ro')).toBeGreaterThanOrEqual(2);
    await queue.close();
    await admin.quit();
  });

  it('names one function per script, and flags the read-only ones no-writes', async () => {
    const admin = new Redis(redis.url);
    const queue = new Queue(uniqueQueue('flags'), { connection: redis.connection });
    await queue.add('x', {});
    const library = scriptLibrary();
    const listed = (await admin.call('FUNCTION', 'LIST', 'LIBRARYNAME', library.name)) as unknown[][];
    const entry = listed.find((item) => item[1] === library.name);
    expect(entry).toBeDefined();
    const functions = (entry?.[5] ?? []) as unknown[][];
    const flags = new Map(functions.map((fn) => [fn[1] as string, (fn[5] as string[]).slice().sort()]));
    for (const [name, spec] of Object.entries(SCRIPTS) as [string, ScriptSpec][]) {
      expect(flags.get(library.functions.get(name) as string), name).toEqual(spec.readOnly === true ? ['no-writes'] : []);
    }
    expect(flags.size).toBe(Object.keys(SCRIPTS).length);
    await queue.close();
    await admin.quit();
  });

  it('loads the library again when Redis forgot it (FUNCTION FLUSH, a restart without persistence)', async () => {
    const admin = new Redis(redis.url);
    const queue = new Queue(uniqueQueue('flushed'), { connection: redis.connection });
    await queue.add('before', {});
    await admin.call('FUNCTION', 'FLUSH');
    await queue.add('after', {});
    expect(await queue.getCounts()).toMatchObject({ waiting: 2 });
    await queue.close();
    await admin.quit();
  });

  it('runs every script by FCALL on a client with enableAutoPipelining, binary-reply ones included', async () => {
    // ioredis 6 drops the command name of an auto-pipelined callBuffer (autoPipelining.js puts it back for
    // `call` only): the first binary-reply script (get-job here, claim in a Worker) went out as
    // "<function> <numkeys> ...", was refused as an unknown command, and the client ran EVALSHA for good.
    const admin = new Redis(redis.url);
    const name = uniqueQueue('auto-pipelined');
    const client = new Redis(redis.url, { enableAutoPipelining: true });
    const queue = new Queue<{ n: number }, number>(name, { connection: client });
    const worker = new Worker<{ n: number }, number>(name, async (job) => job.data.n * 2, { connection: { url: redis.url, enableAutoPipelining: true } });
    try {
      const before = await commandCalls(admin);
      const job = await queue.add('double', { n: 21 });
      expect((await queue.getJob(job.id))?.data).toEqual({ n: 21 });
      const deadline = Date.now() + 10_000;
      while ((await queue.getCounts()).completed < 1 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
      expect((await queue.getJob(job.id))?.returnvalue).toBe(42);
      await queue.add('again', { n: 1 });
      const after = await commandCalls(admin);
      const delta = (command: string): number => (after.get(command) ?? 0) - (before.get(command) ?? 0);
      expect(delta('evalsha') + delta('eval')).toBe(0);
      expect(delta('fcall_ro')).toBeGreaterThan(0);
    } finally {
      await worker.close();
      await queue.close();
      await client.quit();
      await admin.quit();
    }
  });

  it('does not carry the events of a call that failed half way into the next call', async () => {
    const client = new Redis(redis.url);
    const keys = queueKeys(uniqueQueue('events-cleared'), 'sluice', 3);
    const store = new QueueStore(client, keys, 100);
    await store.init(3);
    const good = input();
    await store.add([input({ name: 'loads the library' })]);
    // A packed value whose second job stops short: the script adds the first job, emits its event, then
    // fails reading the second (Redis does not undo the first). Sent by FCALL itself: runScript packs
    // only whole jobs.
    const packed = lengthPrefixed([good.jobId, 'first', good.data, good.opts, '1', '-1', '-1', '', '', 'second']);
    const keyList = [keys.id, keys.meta, keys.delayed, keys.events, keys.ctl, ...keys.groups, ...keys.streams];
    await expect(
      client.call('FCALL', scriptLibrary().functions.get('add') as string, keyList.length, ...keyList, keys.base, '100', '0', '2', packed),
    ).rejects.toThrow();
    expect(await client.xlen(keys.streams[1] as string)).toBe(2);
    const [added] = await store.add([input({ name: 'next' })]);
    const entries = (await client.xrange(keys.events, '-', '+')) as [string, string[]][];
    const last = entries.at(-1)?.[1];
    // The next call's entry holds its own event alone: ('', 'added'), (id, 'next').
    expect(last).toEqual(['', 'added', added?.id, 'next']);
    await client.quit();
  });
});

describe('a Redis that runs no Functions', () => {
  let plain: SpawnedRedis | undefined;
  beforeAll(async () => {
    // FCALL renamed away answers "unknown command", as Redis 6.2 (which has no Functions) does.
    plain = await spawnRedis(['--rename-command', 'FCALL', '']);
  });
  afterAll(async () => {
    await plain?.stop();
  });

  it('runs every script by EVALSHA on a Redis without FCALL (Redis 6.2)', async () => {
    const url = (plain as SpawnedRedis).url;
    expect(await roundTrip(url)).toEqual([2, 4, 6]);
    const admin = new Redis(url);
    const calls = await commandCalls(admin);
    expect(calls.get('evalsha') ?? 0).toBeGreaterThan(0);
    // Each script's first EVALSHA is answered NOSCRIPT, and EVAL loads it.
    expect(calls.get('eval') ?? 0).toBeGreaterThan(0);
    await admin.quit();
  });

  it('runs every script by EVALSHA on a client with enableAutoPipelining', async () => {
    const url = (plain as SpawnedRedis).url;
    const admin = new Redis(url);
    const before = await commandCalls(admin);
    expect(await roundTrip(url, { enableAutoPipelining: true })).toEqual([2, 4, 6]);
    const after = await commandCalls(admin);
    expect((after.get('evalsha') ?? 0) - (before.get('evalsha') ?? 0)).toBeGreaterThan(0);
    await admin.quit();
  });

  it('runs every script by EVALSHA for a user whose ACL refuses Functions', async () => {
    const admin = new Redis(redis.url);
    await admin.call('ACL', 'SETUSER', 'nofunctions', 'on', '>secret', '~*', '&*', '+@all', '-fcall', '-fcall_ro', '-function');
    const before = await commandCalls(admin);
    const { port } = new URL(redis.url);
    expect(await roundTrip(`redis://nofunctions:secret@127.0.0.1:${port}`)).toEqual([2, 4, 6]);
    const after = await commandCalls(admin);
    expect((after.get('evalsha') ?? 0) - (before.get('evalsha') ?? 0)).toBeGreaterThan(0);
    await admin.call('ACL', 'DELUSER', 'nofunctions');
    await admin.quit();
  });
});

import { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { Queue, RedisUnavailableError } from 'sluice';
import { queueKeys } from '../../src/keys.js';
import { scriptLibrary } from '../../src/redis/scripts.js';
import { runFixture, type Child } from '../harness/child.js';
import { hasRedisCli, NO_REDIS_CLI, slotMoves, startCluster, type TestCluster } from '../harness/redis-cluster.js';
import { uniqueQueue } from '../harness/redis.js';
import { sleep, waitFor } from '../harness/wait.js';

/**
 * Resharding: a partition's hash slot migrated to another master while producers add and workers process,
 * in processes of their own, on a cluster of three masters. The test moves the slot itself, as
 * `redis-cli --cluster reshard` does: CLUSTER SETSLOT IMPORTING on the new master and MIGRATING on the old
 * one, MIGRATE of the slot's keys a few at a time, then SETSLOT NODE on every master. Meanwhile Redis
 * refuses the partition's scripts (TRYAGAIN, or ASK and then TRYAGAIN on the new master) before they run;
 * ioredis retries them for about a second, and sluice sends them again after that (src/redis/scripts.ts).
 */
const ready = hasRedisCli();
if (!ready) console.warn(`skipping the resharding tests: ${NO_REDIS_CLI}`);

/** Keys per MIGRATE, and the pause between two: the slot is in flight for about 2 s, past ioredis' own retries. */
const MIGRATE_BATCH = 2;
const MIGRATE_PAUSE_MS = 300;

describe.skipIf(!ready)('a partitioned queue while a slot is resharded (3 masters)', () => {
  let cluster: TestCluster;
  let connection: { cluster: { host: string; port: number }[] };
  const { node, errorCount, openMigration, moveKeys, closeMigration, disconnect } = slotMoves(() => cluster.nodes.map((n) => n.port), {
    batch: MIGRATE_BATCH,
    pauseMs: MIGRATE_PAUSE_MS,
  });

  beforeAll(async () => {
    cluster = await startCluster();
    connection = { cluster: [...cluster.nodes] };
    const admin = new Cluster([...cluster.nodes]);
    await admin.ping();
    await admin.quit();
  }, 120_000);
  afterAll(async () => {
    disconnect();
    await cluster?.stop();
  });

  it("migrates a partition's slot while jobs flow: no acknowledged job lost, none run twice but a retried delivery, counts exact, workers never restart", async () => {
    const name = uniqueQueue('reshard');
    const env = { CLUSTER: JSON.stringify(connection.cluster), QUEUE: name, PARTITIONS: '3' };
    const queue = new Queue(name, { connection, partitions: 3, redisConfig: 'off' });
    await queue.getCounts();
    const workers = [0, 1].map(() => runFixture('partition-load', { ...env, ROLE: 'worker', CONCURRENCY: '8', JOB_MS: '5' }));
    // Past the slot's ~2 s in flight whatever the machine's load; the default 5 s is what the guide promises.
    const producers = [0, 1].map(() => runFixture('partition-load', { ...env, ROLE: 'producer', IN_FLIGHT: '4', COMMAND_TIMEOUT: '15000' }));
    const all: Child[] = [...workers, ...producers];
    const pids = all.map((child) => child.process.pid);
    // A failed assertion must not leave processes adding and working, or the Queue open.
    onTestFinished(async () => {
      for (const child of all) if (child.process.exitCode === null && child.process.signalCode === null) child.process.kill('SIGKILL');
      await queue.close();
    });
    const lines = (children: Child[], word: string): string[][] =>
      children.flatMap((child) => child.lines.filter((line) => line.startsWith(`${word} `)).map((line) => line.split(' ')));
    const added = (): string[] => lines(producers, 'added').map(([, id]) => id as string);
    const done = (): Set<string> => new Set(lines(workers, 'done').map(([, id]) => id as string));

    await waitFor('300 acknowledged adds and jobs running', () => added().length >= 300 && done().size >= 100, 30_000);
    const partition = (await queue.getPartitions())[1]!;
    const from = Number(partition.server?.split(':')[1]);
    const to = cluster.nodes.map((n) => n.port).find((port) => port !== from)!;
    const refusedBefore = (await errorCount(from, 'TRYAGAIN')) + (await errorCount(to, 'TRYAGAIN'));

    const addedBefore = added().length;
    const began = performance.now();
    await openMigration(partition.slot, from, to);
    const moved = await moveKeys(partition.slot, from, to);
    // A master that never loaded the library: the slot's first calls there find no function and load it.
    await node(to).call('FUNCTION', 'FLUSH');
    await closeMigration(partition.slot, from, to);
    const inFlight = performance.now() - began;
    const refused = (await errorCount(from, 'TRYAGAIN')) + (await errorCount(to, 'TRYAGAIN')) - refusedBefore;
    console.log(`slot ${partition.slot}: ${moved} keys moved from ${from} to ${to} in ${inFlight.toFixed(0)} ms; ${refused} calls refused with TRYAGAIN meanwhile; ${added().length - addedBefore} adds acknowledged meanwhile`);
    // The partition's scripts met the migration: Redis refused them while its slot was in flight.
    expect(moved).toBeGreaterThan(5);
    expect(refused).toBeGreaterThan(0);

    // The test's Queue learns the new owner from a MOVED: its getCounts() goes to every partition.
    await waitFor('the partition to be served by its new master', async () => {
      await queue.getCounts();
      return (await queue.getPartitions())[1]!.server === `127.0.0.1:${to}`;
    }, 30_000);
    const switched = added().length;
    await waitFor('200 more acknowledged adds after the move', () => added().length >= switched + 200, 30_000);
    for (const producer of producers) producer.process.stdin?.write('stop\n');
    expect(await Promise.all(producers.map((producer) => producer.exited))).toEqual([0, 0]);

    // Every acknowledged add runs to completion, through the same worker processes.
    const acknowledged = added();
    expect(new Set(acknowledged).size).toBe(acknowledged.length);
    await waitFor('every acknowledged job to complete', () => {
      const finished = done();
      return acknowledged.every((id) => finished.has(id));
    }, 60_000);
    await waitFor('nothing waiting or running', async () => {
      const counts = await queue.getCounts();
      return counts.waiting === 0 && counts.active === 0 && counts.delayed === 0;
    }, 30_000);
    const refusedAdds = lines(producers, 'refused').map((words) => words.slice(1).join(' '));
    // Runs: a job that ran twice must have done so on a new delivery, handed out after its first one was
    // taken back as stalled.
    const runs = new Map<string, { entry: string; stalled: number }[]>();
    for (const [, id, entry, stalled] of lines(workers, 'start')) {
      runs.set(id as string, [...(runs.get(id as string) ?? []), { entry: entry as string, stalled: Number(stalled) }]);
    }
    const twice = [...runs.entries()].filter(([, each]) => each.length > 1);
    const errors = lines(workers, 'error').map((words) => words.slice(1).join(' '));
    console.log(`${runs.size} jobs ran, ${twice.length} of them more than once; ${refusedAdds.length} adds refused; ${errors.length} worker errors`);
    if (refusedAdds.length + errors.length > 0) console.log([...refusedAdds, ...errors].join('\n'));

    // Nothing refused: each add that met the migration was sent again until the slot's new master took it.
    expect(refusedAdds).toEqual([]);
    // Exact: the jobs that exist are the acknowledged ones, each completed once.
    expect(await queue.getCounts()).toEqual({ waiting: 0, active: 0, delayed: 0, blocked: 0, completed: acknowledged.length, failed: 0, paused: 0, limited: 0 });
    expect(done().size).toBe(acknowledged.length);
    for (const [, each] of twice) {
      expect(new Set(each.map((run) => run.entry)).size).toBe(each.length);
      expect(each.slice(1).every((run) => run.stalled > 0)).toBe(true);
    }
    // And none did: every settle that met the migration was sent again until it landed.
    expect(twice).toEqual([]);
    // The workers rode it out in the same processes, none of what they reported a script run half (a command
    // inside a script on a key not there: "non local key") or a function missing.
    expect(errors.filter((error) => /non local key|Function not found/i.test(error))).toEqual([]);
    for (const worker of workers) expect(worker.process.exitCode).toBeNull();
    expect(all.map((child) => child.process.pid)).toEqual(pids);
    for (const worker of workers) worker.process.kill('SIGTERM');
    expect(await Promise.all(workers.map((worker) => worker.exited))).toEqual([0, 0]);
    await queue.obliterate({ force: true });
    await queue.close();
  }, 120_000);

  it('refuses a script whole while its slot migrates, though every key it names is there, and runs it once on the new master', async () => {
    const name = uniqueQueue('guard');
    const queue = new Queue<{ n: number }>(name, { connection, redisConfig: 'off' });
    await queue.add('x', { n: 1 });
    // A pause and a resume: ctl and events exist now, so every key pause names does.
    await queue.pause();
    await queue.resume();
    const keys = queueKeys(name, 'sluice', 3);
    const { slot, server } = (await queue.getPartitions())[0]!;
    const from = Number(server?.split(':')[1]);
    const to = cluster.nodes.map((n) => n.port).find((port) => port !== from)!;
    expect(await node(from).exists(keys.meta, keys.ctl, keys.events)).toBe(3);
    // One worker in the registry, w1, by extend-leases as sluice called it before the guard.
    const leases = scriptLibrary().functions.get('extend-leases')!;
    const registry = [keys.workers, keys.workerInfo, ...keys.streams];
    await node(from).call('FCALL', leases, registry.length, ...registry, 'sluice', 'w1', 60_000, '{}', '');
    await openMigration(slot, from, to);

    // What the guard prevents, with a script of sluice's own called without it: w1 leaves the registry
    // (beatTtl 0). Its keys all exist, so Redis runs it on the migrating master; its ZREM and HDEL empty both
    // hashes (Redis deletes empty keys), and its next command, on `workers`, now missing from a migrating
    // slot, fails the script after those writes landed: a script run half.
    await expect(node(from).call('FCALL', leases, registry.length, ...registry, 'sluice', 'w1', 0, '{}', '')).rejects.toThrow(/non local key/);
    const left = (await node(from).call('CLUSTER', 'GETKEYSINSLOT', slot, 1000)) as string[];
    expect(left).toContain(keys.meta);
    expect(left).not.toContain(keys.workers);

    // Without the guard Redis would run pause here: only a key missing from the migrating master makes it
    // refuse a script. Pause's own function, called as sluice called it before the guard, runs (it resumes:
    // the queue stays as it was).
    const pause = scriptLibrary().functions.get('pause')!;
    expect(await node(from).call('FCALL', pause, 3, keys.meta, keys.ctl, keys.events, 0, 100)).toBe(1);
    const refusedBefore = await errorCount(from, 'TRYAGAIN');

    let settled: 'resolved' | Error | undefined;
    const pausing = queue.pause().then(
      () => (settled = 'resolved'),
      (error: unknown) => (settled = error as Error),
    );
    // Longer than ioredis retries on its own (16 redirections, about 1 s): sluice sends it again.
    await waitFor('Redis to refuse the pause a few times', async () => (await errorCount(from, 'TRYAGAIN')) - refusedBefore >= 3, 10_000);
    await sleep(1500);
    expect(settled).toBeUndefined();
    expect(await node(from).hget(keys.meta, 'paused')).not.toBe('1');

    await moveKeys(slot, from, to);
    await closeMigration(slot, from, to);
    await pausing;
    expect(settled).toBe('resolved');
    expect(await queue.getCounts()).toMatchObject({ paused: 1, waiting: 0 });
    expect(await node(to).hget(keys.meta, 'paused')).toBe('1');
    await queue.obliterate({ force: true });
    await queue.close();
  }, 60_000);

  it('gives up after the Queue\'s commandTimeout while the slot stays in flight: typed, nothing written', async () => {
    const name = uniqueQueue('stuck');
    const queue = new Queue<{ n: number }>(name, { connection, redisConfig: 'off', commandTimeout: 2500 });
    await queue.add('x', { n: 1 });
    const { slot, server } = (await queue.getPartitions())[0]!;
    const from = Number(server?.split(':')[1]);
    const to = cluster.nodes.map((n) => n.port).find((port) => port !== from)!;
    await openMigration(slot, from, to);
    const error = await queue.add('x', { n: 2 }).then(() => undefined, (thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(RedisUnavailableError);
    expect((error as Error).message).toMatch(/being migrated to another master.*nothing was written/);
    await moveKeys(slot, from, to);
    await closeMigration(slot, from, to);
    // The refused add wrote nothing: one job, as before.
    expect(await queue.getCounts()).toMatchObject({ waiting: 1 });
    await queue.obliterate({ force: true });
    await queue.close();
  }, 60_000);
});

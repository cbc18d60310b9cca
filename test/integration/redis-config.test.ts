import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Queue, RedisConfigError, Worker } from 'sluice';
import { durabilityRisks } from '../../src/durability.js';
import { spawnRedis, uniqueQueue, type SpawnedRedis } from '../harness/redis.js';
import { waitFor } from '../harness/wait.js';

let risky: SpawnedRedis;
beforeAll(async () => {
  // Both risks at once: eviction allowed, no persistence.
  risky = await spawnRedis(['--maxmemory-policy', 'allkeys-lru']);
});
afterAll(async () => {
  await risky.stop();
});

describe("Redis settings that can lose jobs", () => {
  it('names each risk and its fix', () => {
    expect(durabilityRisks({ maxmemoryPolicy: 'noeviction', appendonly: 'yes', save: '' })).toEqual([]);
    expect(durabilityRisks({ maxmemoryPolicy: 'noeviction', appendonly: 'no', save: '3600 1' })).toEqual([]);
    const risks = durabilityRisks({ maxmemoryPolicy: 'allkeys-lru', appendonly: 'no', save: '' });
    expect(risks).toHaveLength(2);
    expect(risks[0]).toContain("maxmemory-policy is 'allkeys-lru'");
    expect(risks[0]).toContain('set maxmemory-policy noeviction');
    expect(risks[1]).toContain('set appendonly yes');
  });

  it("warns once per Redis by default, and still works", async () => {
    const warnings: Error[] = [];
    const listen = (warning: Error): void => void warnings.push(warning);
    process.on('warning', listen);
    const first = new Queue(uniqueQueue('warn'), { connection: { url: risky.url } });
    const second = new Queue(uniqueQueue('warn'), { connection: { url: risky.url } });
    await first.add('x', {});
    await second.add('x', {});
    await waitFor('the warning', () => warnings.length > 0);
    process.off('warning', listen);
    const ours = warnings.filter((w) => (w as Error & { code?: string }).code === 'SLUICE_REDIS_CONFIG');
    expect(ours).toHaveLength(1);
    expect(ours[0]?.message).toContain('this Redis can lose jobs');
    await first.close();
    await second.close();
  });

  it("refuses to start with redisConfig: 'error', writing nothing; a Worker stops claiming", async () => {
    const name = uniqueQueue('strict');
    const queue = new Queue(name, { connection: { url: risky.url }, redisConfig: 'error' });
    await expect(queue.add('x', {})).rejects.toBeInstanceOf(RedisConfigError);
    const errors: Error[] = [];
    const worker = new Worker(name, async () => undefined, { connection: { url: risky.url }, redisConfig: 'error' });
    worker.on('error', (error) => errors.push(error));
    await waitFor('the refusal', () => errors.length > 0);
    expect(errors[0]).toBeInstanceOf(RedisConfigError);
    await worker.close();
    await queue.close();
    const check = new Queue(name, { connection: { url: risky.url }, redisConfig: 'off' });
    expect(await check.getCounts()).toMatchObject({ waiting: 0 });
    await check.close();
  });

  it('says plainly when it cannot read the settings (CONFIG refused), and refuses to start unchecked with redisConfig: error', async () => {
    const admin = new Redis(risky.url);
    await admin.call('ACL', 'SETUSER', 'noconfig', 'on', '>secret', '~*', '&*', '+@all', '-config');
    const url = `redis://noconfig:secret@127.0.0.1:${risky.port}`;
    const warnings: Error[] = [];
    const listen = (warning: Error): void => void warnings.push(warning);
    process.on('warning', listen);
    const queue = new Queue(uniqueQueue('unchecked'), { connection: { url } });
    await queue.add('x', {});
    await waitFor('the warning', () => warnings.some((w) => /cannot check/.test(w.message)));
    process.off('warning', listen);
    const ours = warnings.filter((w) => (w as Error & { code?: string }).code === 'SLUICE_REDIS_CONFIG');
    expect(ours).toHaveLength(1);
    expect(ours[0]?.message).toMatch(/cannot check whether this Redis can lose jobs: reading its settings with CONFIG GET was refused \(NOPERM.*\)\. Make sure maxmemory-policy is noeviction .*redisConfig: 'off'/);
    const strict = new Queue(uniqueQueue('unchecked'), { connection: { url }, redisConfig: 'error' });
    await expect(strict.add('x', {})).rejects.toThrow(/refuses to start unchecked/);
    await strict.close();
    await queue.close();
    await admin.call('ACL', 'DELUSER', 'noconfig');
    await admin.quit();
  });
});


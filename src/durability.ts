import { RedisConfigError } from './errors.js';
import type { QueueStore } from './redis/store.js';

/**
 * Checks, once per Queue or Worker, that Redis will not lose jobs on its own: no eviction, and some
 * persistence. 'warn' (the default) prints a process warning naming the risk and the fix, once per Redis
 * per process; 'error' refuses to start with RedisConfigError; 'off' skips the check.
 */
export type RedisConfigCheck = 'warn' | 'error' | 'off';

const warned = new Set<string>();

export function durabilityRisks(settings: { maxmemoryPolicy: string; appendonly: string; save: string }): string[] {
  const risks: string[] = [];
  if (settings.maxmemoryPolicy !== 'noeviction') {
    risks.push(
      `maxmemory-policy is '${settings.maxmemoryPolicy}': under memory pressure Redis deletes keys, and jobs vanish ` +
        `without a trace; set maxmemory-policy noeviction (adds then fail with an error instead)`,
    );
  }
  if (settings.appendonly !== 'yes' && settings.save.trim() === '') {
    risks.push(
      'persistence is off (appendonly no, no save points): a restart of Redis loses every job; ' +
        'set appendonly yes with appendfsync everysec',
    );
  }
  return risks;
}

export async function checkRedisConfig(store: QueueStore, mode: RedisConfigCheck, where: string): Promise<void> {
  if (mode === 'off') return;
  const settings = await store.durabilitySettings();
  if (settings === undefined) return;
  const risks = durabilityRisks(settings);
  if (risks.length === 0) return;
  const message = `sluice ${where}: this Redis can lose jobs: ${risks.join('; ')}`;
  if (mode === 'error') throw new RedisConfigError(`${message} (redisConfig: 'error' refuses to start; see docs/guarantees.md)`);
  const server = `${String(store.client.options.host)}:${String(store.client.options.port)}`;
  if (warned.has(server)) return;
  warned.add(server);
  process.emitWarning(message, { code: 'SLUICE_REDIS_CONFIG' });
}

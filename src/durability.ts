import { RedisConfigError } from './errors.js';

/**
 * Checks, once per Queue or Worker, that Redis will not lose jobs on its own: no eviction, and some
 * persistence. 'warn' (the default) prints a process warning naming the risk and the fix, once per Redis
 * per process; 'error' refuses to start with RedisConfigError; 'off' skips the check.
 */
export type RedisConfigCheck = 'warn' | 'error' | 'off';

/** One server's settings that decide whether it may lose jobs. */
export interface ServerSettings {
  /** `host:port` */
  server: string;
  maxmemoryPolicy: string;
  appendonly: string;
  save: string;
}

/** Where the settings come from: QueueStore reads them from every server that can hold the queue. */
export interface SettingsSource {
  /**
   * `{ unreadable }` when Redis does not let this client read them (CONFIG renamed or disabled, as managed
   * services often do, or refused by the user's ACL): Redis' own answer.
   */
  durabilitySettings(): Promise<ServerSettings[] | { unreadable: string }>;
}

const warned = new Set<string>();
/** In `warned`: the settings could not be read (once per process, whichever Redis). */
const UNREADABLE = '(settings unreadable)';

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

/**
 * On a cluster every master is checked, not only the one that serves the queue's slot: slots move
 * (resharding, a failover promoting another node), so a risky master is this queue's risk tomorrow. It
 * costs 3 CONFIG GETs per master, once per Queue or Worker. Replicas are not checked: one becomes a master
 * only by a failover, which the cluster's own setup should make uniform.
 */
export async function checkRedisConfig(store: SettingsSource, mode: RedisConfigCheck, where: string): Promise<void> {
  if (mode === 'off') return;
  const servers = await store.durabilitySettings();
  if (!Array.isArray(servers)) {
    // Said plainly rather than passed over: the check did not run, so it cannot vouch for this Redis.
    const message =
      `sluice ${where}: cannot check whether this Redis can lose jobs: reading its settings with CONFIG GET was ` +
      `refused (${servers.unreadable}). Make sure maxmemory-policy is noeviction and appendonly is yes (or save ` +
      `points are set), then set redisConfig: 'off' to skip the check`;
    if (mode === 'error') throw new RedisConfigError(`${message} (redisConfig: 'error' refuses to start unchecked; see docs/guarantees.md)`);
    if (warned.has(UNREADABLE)) return;
    warned.add(UNREADABLE);
    process.emitWarning(message, { code: 'SLUICE_REDIS_CONFIG' });
    return;
  }
  const risky = servers.map((settings) => ({ server: settings.server, risks: durabilityRisks(settings) })).filter(({ risks }) => risks.length > 0);
  if (risky.length === 0) return;
  // A single Redis is "this Redis"; cluster masters are named, since only some of them may be at fault.
  const detail = servers.length === 1 ? (risky[0]?.risks ?? []).join('; ') : risky.map(({ server, risks }) => `master ${server}: ${risks.join('; ')}`).join('; ');
  const message = `sluice ${where}: this Redis can lose jobs: ${detail}`;
  if (mode === 'error') throw new RedisConfigError(`${message} (redisConfig: 'error' refuses to start; see docs/guarantees.md)`);
  if (risky.every(({ server }) => warned.has(server))) return;
  for (const { server } of risky) warned.add(server);
  process.emitWarning(message, { code: 'SLUICE_REDIS_CONFIG' });
}

import type { Redis } from 'ioredis';

/**
 * What Redis itself spent during a measured window, from two INFO snapshots: commands executed (per
 * command) and server CPU. Deltas, not CONFIG RESETSTAT, so the figures are right on a shared server
 * too and nothing the server counts is reset under anyone's feet.
 *
 * Redis counts commands run inside Lua scripts (redis.call) in commandstats as well, so one EVALSHA of
 * `complete` for 64 jobs shows up as 1 fcall (evalsha on Redis 6.2) plus every HSET, ZADD, XADD... it ran.
 */

export interface RedisSnapshot {
  /** Calls per command name as commandstats spells it ('evalsha', 'xadd', 'client|setname'...). */
  readonly calls: ReadonlyMap<string, number>;
  /** Microseconds spent per command; a script's usec includes the commands it called. */
  readonly usec: ReadonlyMap<string, number>;
  /** used_cpu_sys + used_cpu_user: all redis-server threads, kernel and user time. */
  readonly cpuSeconds: number;
  /** used_cpu_sys alone: the kernel's share (sockets, epoll), which callgrind's instruction counts leave out. */
  readonly cpuSysSeconds: number;
  /** used_memory: bytes the allocator handed out (data, buffers, script cache), not the process' RSS. */
  readonly usedMemory: number;
}

export interface CommandCost {
  readonly command: string;
  readonly calls: number;
  readonly usec: number;
}

export interface RedisDelta {
  /** Sum of calls over all commands, scripts and the commands they called both counted. */
  readonly commands: number;
  readonly cpuMicros: number;
  /** Of cpuMicros, the kernel's. */
  readonly cpuSysMicros: number;
  /** Change of used_memory over the window, in bytes (negative when memory was freed). */
  readonly usedMemory: number;
  /** Most called first. */
  readonly byCommand: readonly CommandCost[];
}

/** INFO's `name:value` lines; section headers and blank lines are skipped. */
export function parseInfo(text: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const line of text.split('\r\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const colon = line.indexOf(':');
    if (colon > 0) fields.set(line.slice(0, colon), line.slice(colon + 1));
  }
  return fields;
}

/** `calls=3,usec=20,usec_per_call=6.67,...` -> { calls: 3, usec: 20, ... } */
function parseStatFields(value: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const pair of value.split(',')) {
    const [key, raw] = pair.split('=');
    if (key !== undefined && raw !== undefined) out.set(key, Number(raw));
  }
  return out;
}

function numberField(fields: ReadonlyMap<string, string>, name: string): number {
  const value = Number(fields.get(name));
  if (!Number.isFinite(value)) throw new Error(`INFO has no numeric '${name}'; is this a Redis server (>= 6.2)?`);
  return value;
}

/**
 * One INFO call for everything (commandstats and cpu together): the snapshot itself then costs exactly
 * one INFO, which `diff` removes. INFO 'all' (not 'default') is what includes commandstats on 6.2 and 7.
 */
export async function takeSnapshot(client: Redis): Promise<RedisSnapshot> {
  const fields = parseInfo(await client.info('all'));
  const calls = new Map<string, number>();
  const usec = new Map<string, number>();
  for (const [name, value] of fields) {
    if (!name.startsWith('cmdstat_')) continue;
    const stat = parseStatFields(value);
    const command = name.slice('cmdstat_'.length);
    calls.set(command, stat.get('calls') ?? 0);
    usec.set(command, stat.get('usec') ?? 0);
  }
  return {
    calls,
    usec,
    cpuSeconds: numberField(fields, 'used_cpu_sys') + numberField(fields, 'used_cpu_user'),
    cpuSysSeconds: numberField(fields, 'used_cpu_sys'),
    usedMemory: numberField(fields, 'used_memory'),
  };
}

/**
 * after - before. The window holds the `before` snapshot's own INFO (Redis counts a command after
 * running it, so `after` does not count itself): that one INFO is the benchmark's, not sluice's, and is
 * taken out. INFO sent by sluice's own connections (ioredis' ready check) stays in.
 */
export function diff(before: RedisSnapshot, after: RedisSnapshot): RedisDelta {
  const byCommand: CommandCost[] = [];
  let commands = 0;
  for (const [command, total] of after.calls) {
    let calls = total - (before.calls.get(command) ?? 0);
    if (command === 'info') calls -= 1;
    if (calls <= 0) continue;
    const usec = (after.usec.get(command) ?? 0) - (before.usec.get(command) ?? 0);
    byCommand.push({ command, calls, usec });
    commands += calls;
  }
  byCommand.sort((a, b) => b.calls - a.calls || a.command.localeCompare(b.command));
  return {
    commands,
    cpuMicros: Math.max(0, (after.cpuSeconds - before.cpuSeconds) * 1e6),
    cpuSysMicros: Math.max(0, (after.cpuSysSeconds - before.cpuSysSeconds) * 1e6),
    usedMemory: after.usedMemory - before.usedMemory,
    byCommand,
  };
}

export async function redisVersion(client: Redis): Promise<string> {
  return parseInfo(await client.info('server')).get('redis_version') ?? 'unknown';
}

/**
 * Where a comparison run happened: machine, versions, git state, CPU pinning, load. Recorded with every
 * result, because throughput on a shared 2-core machine depends on all of these.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import type { SpawnedRedis } from '../test/harness/redis-server.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

export const REDIS_CPU = 0;
export const NODE_CPU = 1;

export function hasTaskset(): boolean {
  return spawnSync('taskset', ['--version'], { stdio: 'ignore' }).status === 0;
}

/**
 * `taskset -a -cp CPU PID`: -a moves every thread of the process (redis-server's background threads,
 * Node's libuv and V8 helper threads); threads and child processes started later inherit the mask.
 */
export function pin(pid: number | undefined, cpu: number): boolean {
  if (pid === undefined) return false;
  return spawnSync('taskset', ['-a', '-cp', String(cpu), String(pid)], { stdio: 'ignore' }).status === 0;
}

export interface Pinning {
  /** CPU redis-server runs on, or null when not pinned. */
  readonly redisCpu: number | null;
  /** CPU the bench (producer) and its worker processes run on, or null when not pinned. */
  readonly nodeCpu: number | null;
  readonly note: string;
}

/**
 * Redis on one core, the bench (and its worker processes) on the other, when taskset and two CPUs exist:
 * neither takes the other's CPU, and the figures do not depend on where the scheduler happens to put
 * them. A Redis the bench did not spawn (`redis` undefined) is left alone. `nodeLabel` names the Node side
 * in the note.
 */
export function pinProcesses(redis: SpawnedRedis | undefined, nodeLabel = 'bench and worker processes'): Pinning {
  if (!hasTaskset()) return { redisCpu: null, nodeCpu: null, note: 'not pinned: taskset not found' };
  if (os.cpus().length < 2) return { redisCpu: null, nodeCpu: null, note: 'not pinned: only one CPU' };
  const redisCpu = redis !== undefined && pin(redis.process.pid, REDIS_CPU) ? REDIS_CPU : null;
  const nodeCpu = pin(process.pid, NODE_CPU) ? NODE_CPU : null;
  const where = (cpu: number | null, why = 'taskset failed'): string => (cpu === null ? `not pinned (${why})` : `CPU ${cpu}`);
  return {
    redisCpu,
    nodeCpu,
    note: `redis-server ${where(redisCpu, redis === undefined ? 'not ours' : 'taskset failed')}, ${nodeLabel} ${where(nodeCpu)}`,
  };
}

/** Output of a git command in the project, or null when git or the repository is not there. */
function git(args: readonly string[]): string | null {
  const run = spawnSync('git', args, { cwd: ROOT, encoding: 'utf8' });
  return run.status === 0 ? run.stdout : null;
}

export interface GitState {
  readonly commit: string | null;
  /** The working tree had uncommitted changes (outside bench/results/): `commit` alone does not pin the code. */
  readonly dirty: boolean | null;
  /** The changed paths when dirty, so a reader can tell whether sluice's code itself differed. */
  readonly changed: readonly string[];
  /** Whether any of them is sluice's own code (src/ or lua/), rather than the bench or docs. */
  readonly codeChanged: boolean | null;
}

export function gitState(): GitState {
  const commit = git(['rev-parse', '--short', 'HEAD'])?.trim() ?? null;
  // Porcelain lines are 'XY path': two status columns (either may be a space), a space, the path.
  const status = git(['status', '--porcelain']);
  if (status === null) return { commit, dirty: null, changed: [], codeChanged: null };
  const changed = status
    .split('\n')
    .map((line) => line.slice(3))
    .filter((path) => path !== '' && !path.startsWith('bench/results/'));
  const codeChanged = changed.some((path) => path.startsWith('src/') || path.startsWith('lua/'));
  return { commit, dirty: changed.length > 0, changed, codeChanged };
}

export interface Machine {
  readonly cpuModel: string;
  readonly cores: number;
  readonly totalMemoryBytes: number;
  readonly platform: string;
  readonly release: string;
  readonly arch: string;
}

export function machine(): Machine {
  const cpus = os.cpus();
  return {
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    totalMemoryBytes: os.totalmem(),
    platform: os.platform(),
    release: os.release(),
    arch: os.arch(),
  };
}

/** The 1-minute load average: what else competed for the two CPUs. */
export function loadAverage(): number {
  return Number((os.loadavg()[0] ?? 0).toFixed(2));
}

/** The machine, with the 1-minute load average at the start of a run (and at its end, once written). */
export interface MachineAndLoad extends Machine {
  /**
   * Other processes on the machine (tests, builds) take CPU from Redis and Node: a high figure here says
   * the run's times are not to be trusted.
   */
  readonly loadAverage: { readonly start: number; readonly end?: number };
}

export function machineAndLoad(): MachineAndLoad {
  return { ...machine(), loadAverage: { start: loadAverage() } };
}

/** The version in a package's package.json: node_modules/<name>/, or the project's own for sluice. */
export function packageVersion(name: string): string {
  const file = name === 'sluice' ? 'package.json' : `node_modules/${name}/package.json`;
  try {
    const parsed: unknown = JSON.parse(readFileSync(`${ROOT}${file}`, 'utf8'));
    if (typeof parsed === 'object' && parsed !== null && 'version' in parsed && typeof parsed.version === 'string') return parsed.version;
  } catch {
    // not installed: reported as unknown below
  }
  return 'unknown';
}

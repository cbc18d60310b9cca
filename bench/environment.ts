/**
 * Where a comparison run happened: machine, versions, git state, CPU pinning, load. Recorded with every
 * result, because throughput on a shared 2-core machine depends on all of these.
 */
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import { fileURLToPath } from 'node:url';

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

/** Redis on one core, the bench and its worker processes on the other, when taskset and two CPUs exist. */
export function pinProcesses(redisPid: number | undefined): Pinning {
  if (!hasTaskset()) return { redisCpu: null, nodeCpu: null, note: 'not pinned: taskset not found' };
  if (os.cpus().length < 2) return { redisCpu: null, nodeCpu: null, note: 'not pinned: only one CPU' };
  const redisCpu = pin(redisPid, REDIS_CPU) ? REDIS_CPU : null;
  const nodeCpu = pin(process.pid, NODE_CPU) ? NODE_CPU : null;
  const where = (cpu: number | null): string => (cpu === null ? 'not pinned (taskset failed)' : `CPU ${cpu}`);
  return { redisCpu, nodeCpu, note: `redis-server ${where(redisCpu)}, bench and worker processes ${where(nodeCpu)}` };
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

/**
 * What the rate-limit benchmark's contenders share: the scenario and result shapes, the exact
 * sliding-window figures, and the harness that runs one scenario on its own fresh redis-server with two
 * child processes. The contenders themselves live in limits-bottleneck.ts and limits-sluice.ts; the
 * entry point, table and JSON in limits.ts.
 *
 * Child protocol. The parent forks bench/limits.ts with `--child <json ChildTask>`.
 *   child -> parent, stdout, one message a line:
 *     ready                     connected and set up; nothing admitted yet
 *     start <ms> <group|->      one admission: its start time (ms since epoch) and the job's group
 *     error <json string>       an error the contender reported (error events, rejected jobs)
 *     done                      nothing more will be admitted by this child (it waits for 'stop')
 *   parent -> child, IPC message: 'go' (start admitting), 'stop' (finish, close everything, exit 0).
 * Anything else a child prints on stdout is passed through to the parent's stderr, prefixed.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { spawnRedis } from '../test/harness/redis-server.js';
import { diff, takeSnapshot, type RedisDelta } from './redis-stats.js';
import { round } from './stats.js';

export type Contender = 'bottleneck' | 'sluice';

/** The limit a scenario asks for: at most `max` admissions in any window of `durationMs`. */
export interface Limit {
  readonly max: number;
  readonly durationMs: number;
}

export interface ScenarioSpec {
  readonly contender: Contender;
  /** Short, stable id: 'bottleneck/min-time', 'sluice/rate-limit'... */
  readonly id: string;
  readonly title: string;
  /** The configuration as the contender's own API spells it, for the record. */
  readonly config: string;
  /** 'queue': one limit over all admissions; 'group': the same limit for each group separately. */
  readonly scope: 'queue' | 'group';
  /** Queue scope: the whole limit. Group scope: each group's limit. */
  readonly limit: Limit;
  /** Group names the jobs are spread over (job i is in groups[i % groups.length]). */
  readonly groups: readonly string[];
  readonly jobs: number;
  readonly processes: number;
}

/** What one child process is told to do. `variant` is the contender's own scenario key. */
export interface ChildTask {
  readonly contender: Contender;
  readonly variant: string;
  readonly index: number;
  readonly processes: number;
  readonly jobs: number;
  readonly groups: readonly string[];
  readonly redis: { readonly host: string; readonly port: number; readonly url: string };
  /** Name shared by the children of one run: Bottleneck's limiter id, sluice's queue name. */
  readonly name: string;
}

/** The jobs child `index` of `processes` takes: a contiguous slice, so every child sees every group. */
export function share(task: Pick<ChildTask, 'index' | 'processes' | 'jobs'>): { from: number; to: number } {
  const per = Math.ceil(task.jobs / task.processes);
  return { from: Math.min(task.jobs, task.index * per), to: Math.min(task.jobs, (task.index + 1) * per) };
}

export function groupOf(groups: readonly string[], i: number): string | undefined {
  return groups.length === 0 ? undefined : groups[i % groups.length];
}

/** The groups both contenders spread their jobs over in the per-group scenarios (sluice: in all of them). */
export const GROUPS = ['g0', 'g1', 'g2', 'g3'] as const;

/** The limit of every queue-wide scenario: 100 per second. */
export const QUEUE_LIMIT: Limit = { max: 100, durationMs: 1000 };
/** The limit of every per-group scenario, for each group: 25 per second, 100 in total over GROUPS. */
export const GROUP_LIMIT: Limit = { max: 25, durationMs: 1000 };

/** What a contender's variant decides of its scenarios; the rest is the run's. */
export type VariantSpec = Pick<ScenarioSpec, 'title' | 'config' | 'scope' | 'limit' | 'groups'>;

export interface Variants<V> {
  readonly names: readonly string[];
  /** The variant called `name`; an error naming the known ones for anything else. */
  of(name: string): V;
  /** One scenario per variant, in the table's order. */
  specs(jobs: number, processes: number): { spec: ScenarioSpec; variant: string }[];
}

/** A contender's table of variants (its scenarios), keyed by the name that goes into the scenario id. */
export function variants<V>(contender: Contender, label: string, table: Readonly<Record<string, V>>, describe: (variant: V) => VariantSpec): Variants<V> {
  const names = Object.keys(table);
  const of = (name: string): V => {
    const variant = table[name];
    if (variant === undefined) throw new Error(`unknown ${label} variant '${name}' (known: ${names.join(', ')})`);
    return variant;
  };
  return {
    names,
    of,
    specs: (jobs, processes) =>
      names.map((name) => ({ variant: name, spec: { contender, id: `${contender}/${name}`, ...describe(of(name)), jobs, processes } })),
  };
}

// ------------------------------------------------------------------------------------------- figures

/**
 * The most admissions in any half-open window [t, t + windowMs), over sorted start times. The maximum is
 * reached by a window that starts at an admission, so it suffices to try those: two pointers, O(n).
 */
export function worstWindow(sorted: readonly number[], windowMs: number): number {
  let worst = 0;
  let hi = 0;
  for (let lo = 0; lo < sorted.length; lo++) {
    const end = (sorted[lo] as number) + windowMs;
    if (hi < lo) hi = lo;
    while (hi < sorted.length && (sorted[hi] as number) < end) hi++;
    worst = Math.max(worst, hi - lo);
  }
  return worst;
}

/**
 * Admissions per window over the run, as a share of the limit: admitted / (last − first + window) × window
 * / max. One window is added to the span because the last admission opens a window of its own. A
 * limiter that admits `max` at once every `window` ms for the whole run scores exactly 1; one that spaces
 * admissions evenly scores a little under 1 (for 1,000 jobs at 10 ms spacing: 1000 / 10.99 s = 0.91).
 */
export function achievedShare(sorted: readonly number[], limit: Limit): number {
  if (sorted.length === 0) return 0;
  const span = (sorted[sorted.length - 1] as number) - (sorted[0] as number) + limit.durationMs;
  return (sorted.length * limit.durationMs) / span / limit.max;
}

/**
 * A downstream that counts calls on its own clock sees each start a little late: network and scheduling
 * jitter. Each start is moved 0 to JITTER_MS later, at random (seeded, so runs compare), and the worst
 * window of JITTER_DRAWS such draws is what the downstream saw at worst.
 */
export const JITTER_MS = 5;
const JITTER_DRAWS = 20;

/** A small seeded generator (mulberry32): the same draws on every run. */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The most starts a downstream with up to JITTER_MS of jitter counts in any of its windows of `windowMs`. */
export function downstreamWorstWindow(starts: readonly number[], windowMs: number): number {
  let worst = 0;
  for (let draw = 1; draw <= JITTER_DRAWS; draw++) {
    const random = seeded(draw);
    const seen = starts.map((at) => at + random() * JITTER_MS).sort((a, b) => a - b);
    worst = Math.max(worst, worstWindow(seen, windowMs));
  }
  return worst;
}

export interface WindowFigures {
  readonly admitted: number;
  /** Last start − first start, ms. */
  readonly spanMs: number;
  readonly worstWindow: number;
  /** The worst window on a downstream's clock, each start 0 to JITTER_MS late (downstreamWorstWindow). */
  readonly downstreamWorstWindow: number;
  /** worstWindow / max: above 1 means the limit was exceeded somewhere. */
  readonly worstWindowShare: number;
  readonly achievedShare: number;
}

export function figures(starts: readonly number[], limit: Limit): WindowFigures {
  const sorted = [...starts].sort((a, b) => a - b);
  const worst = worstWindow(sorted, limit.durationMs);
  return {
    admitted: sorted.length,
    spanMs: sorted.length === 0 ? 0 : (sorted[sorted.length - 1] as number) - (sorted[0] as number),
    worstWindow: worst,
    downstreamWorstWindow: downstreamWorstWindow(sorted, limit.durationMs),
    worstWindowShare: round(worst / limit.max, 3),
    achievedShare: round(achievedShare(sorted, limit), 3),
  };
}

// ----------------------------------------------------------------------------------------- the harness

export interface Admission {
  readonly at: number;
  readonly group: string | undefined;
  readonly child: number;
}

export interface ErrorCount {
  readonly message: string;
  readonly count: number;
}

export interface RunOutcome {
  readonly admissions: readonly Admission[];
  readonly errors: readonly ErrorCount[];
  readonly redis: RedisDelta;
  readonly redisVersion: string;
  /** false: the deadline passed before every job was admitted (or a child died). */
  readonly complete: boolean;
  readonly note: string | null;
  readonly exitCodes: readonly (number | null)[];
}

export interface ScenarioHooks {
  /** Runs inside the measured window, before the children start: set limits, add jobs. */
  readonly prepare?: (run: { url: string; port: number; name: string }) => Promise<void>;
  /** Runs after the children exited, outside the window: close what prepare opened. */
  readonly cleanup?: () => Promise<void>;
}

const ENTRY = fileURLToPath(new URL('./limits.ts', import.meta.url));

interface Child {
  readonly process: ChildProcess;
  readonly index: number;
  ready: boolean;
  done: boolean;
  readonly exited: Promise<number | null>;
}

function tally(errors: Map<string, number>, message: string): void {
  errors.set(message, (errors.get(message) ?? 0) + 1);
}

/**
 * One scenario, start to end: a fresh redis-server, an INFO snapshot, `prepare`, the children (started
 * together once all are ready), a second snapshot once they exited, then the server is stopped. The
 * window therefore holds everything the contender sent Redis for the run: connection setup, script
 * loading, configuration, every admission, and closing.
 */
export async function runScenario(spec: ScenarioSpec, variant: string, deadlineMs: number, hooks: ScenarioHooks = {}): Promise<RunOutcome> {
  const server = await spawnRedis();
  const admin = new Redis(server.url, { maxRetriesPerRequest: 1 });
  const children: Child[] = [];
  const admissions: Admission[] = [];
  const errors = new Map<string, number>();
  let note: string | null = null;
  // One name for the run: Bottleneck's limiter id, sluice's queue name.
  const name = `bench-limits-${variant}-${Date.now()}`;
  try {
    const redisVersion = (await admin.info('server')).match(/redis_version:(\S+)/)?.[1] ?? 'unknown';
    const before = await takeSnapshot(admin);
    await hooks.prepare?.({ url: server.url, port: server.port, name });

    let settle: () => void = () => undefined;
    const allReady = new Promise<void>((resolve) => (settle = resolve));
    let finish: () => void = () => undefined;
    const finished = new Promise<void>((resolve) => (finish = resolve));
    const check = (): void => {
      if (children.every((c) => c.ready)) settle();
      if (admissions.length >= spec.jobs || children.every((c) => c.done)) finish();
    };

    for (let index = 0; index < spec.processes; index++) {
      const task: ChildTask = {
        contender: spec.contender,
        variant,
        index,
        processes: spec.processes,
        jobs: spec.jobs,
        groups: spec.groups,
        redis: { host: '127.0.0.1', port: server.port, url: server.url },
        name,
      };
      const proc = fork(ENTRY, ['--child', JSON.stringify(task)], { stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
      const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
      const child: Child = { process: proc, index, ready: false, done: false, exited };
      children.push(child);
      void exited.then((code) => {
        if (!child.done && code !== 0) {
          note ??= `child ${index} exited with code ${String(code)} before it was done`;
          tally(errors, `child ${index} exited with code ${String(code)}`);
        }
        child.ready = true;
        child.done = true;
        check();
      });
      const lines = createInterface({ input: proc.stdout as NodeJS.ReadableStream });
      lines.on('line', (line) => {
        const space = line.indexOf(' ');
        const kind = space < 0 ? line : line.slice(0, space);
        const rest = space < 0 ? '' : line.slice(space + 1);
        if (kind === 'ready') child.ready = true;
        else if (kind === 'done') child.done = true;
        else if (kind === 'start') {
          const [at, group] = rest.split(' ');
          admissions.push({ at: Number(at), group: group === undefined || group === '-' ? undefined : group, child: index });
        } else if (kind === 'error') tally(errors, JSON.parse(rest) as string);
        else console.error(`  [child ${index}] ${line}`);
        check();
      });
    }

    const readyTimer = setTimeout(() => {
      note ??= 'children not ready within 30 s';
      settle();
    }, 30_000);
    await allReady;
    clearTimeout(readyTimer);
    for (const c of children) if (c.process.connected) c.process.send('go');
    const deadline = setTimeout(() => {
      note ??= `deadline: ${admissions.length} of ${spec.jobs} admitted after ${Math.round(deadlineMs / 1000)} s`;
      finish();
    }, deadlineMs);
    await finished;
    clearTimeout(deadline);
    for (const c of children) if (c.process.connected) c.process.send('stop');
    // A child that does not close within 20 s is killed: the run is then marked incomplete.
    const killer = setTimeout(() => {
      for (const c of children) {
        if (c.process.exitCode === null && c.process.signalCode === null) {
          note ??= `child ${c.index} did not exit after 'stop'; killed`;
          c.process.kill('SIGKILL');
        }
      }
    }, 20_000);
    const exitCodes = await Promise.all(children.map((c) => c.exited));
    clearTimeout(killer);
    const after = await takeSnapshot(admin);
    return {
      admissions,
      errors: [...errors].map(([message, count]) => ({ message, count })).sort((a, b) => b.count - a.count),
      redis: diff(before, after),
      redisVersion,
      complete: admissions.length >= spec.jobs && note === null,
      note,
      exitCodes,
    };
  } finally {
    for (const c of children) if (c.process.exitCode === null && c.process.signalCode === null) c.process.kill('SIGKILL');
    try {
      await hooks.cleanup?.();
    } finally {
      admin.disconnect();
      await server.stop();
    }
  }
}

// --------------------------------------------------------------------------------------- child side

/** A child's side of the protocol: one line per message on stdout. */
export const emit = {
  ready: (): void => void process.stdout.write('ready\n'),
  start: (at: number, group: string | undefined): void => void process.stdout.write(`start ${at} ${group ?? '-'}\n`),
  error: (error: unknown): void => {
    const message = error instanceof Error ? error.message : String(error);
    process.stdout.write(`error ${JSON.stringify(message)}\n`);
  },
  done: (): void => void process.stdout.write('done\n'),
};

/**
 * Tells the parent this child is ready, then waits for 'go' (or an early 'stop'). Returns the wait for
 * 'stop', listened for from before 'go' so that it cannot be missed.
 */
export async function readyThenGo(): Promise<{ stop: Promise<void> }> {
  emit.ready();
  const stop = awaitParent('stop');
  await Promise.race([awaitParent('go'), stop]);
  return { stop };
}

/** Resolves when the parent sends `message` ('go' or 'stop'). */
export function awaitParent(message: 'go' | 'stop'): Promise<void> {
  return new Promise((resolve) => {
    const onMessage = (received: unknown): void => {
      if (received === message) {
        process.off('message', onMessage);
        resolve();
      }
    };
    process.on('message', onMessage);
  });
}

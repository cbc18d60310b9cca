/**
 * Rate-limit benchmark: how exactly a limit of "100 per second" holds when two worker processes share
 * it through one Redis, for Bottleneck's clustered limiters and for sluice's rate limits.
 *
 *   npm run bench:limits                          both contenders, 1,000 jobs per scenario
 *   npm run bench:limits -- --only bottleneck     Bottleneck only (needs nothing from sluice's limits)
 *   npm run bench:limits -- --only sluice         sluice only (needs setRateLimit / setGroupLimit / group)
 *   npx tsx bench/limits.ts --jobs 2000 --scenarios min-time,rate-limit
 *
 * Every scenario runs on its own fresh redis-server with two child processes that start admitting at
 * the same moment; each admission's start time goes to the parent. Per scenario:
 *   admitted        jobs that started (of --jobs)
 *   worst window    most starts in any half-open window [t, t + 1000 ms), computed exactly
 *   downstream      the same on a downstream's clock: every start 0 to 5 ms late at random (the worst of
 *                   20 seeded draws), as network jitter moves calls
 *   achieved        admitted / (last start − first start + 1000 ms), as a share of the limit
 *   per group       the same per group, for the per-group limits
 *   commands/job    Redis commands (INFO commandstats delta, commands run by scripts included) over the
 *                   whole run, divided by the admitted jobs
 * See docs/limits-bench.md for what the figures mean and what was found.
 *
 * Prints a table and writes bench/results/limits-<ISO date>.json. Exits 0 when the harness worked: a
 * Bottleneck scenario that fails or breaks the limit is a finding and is recorded; a sluice scenario
 * that fails, is incomplete or reports errors makes the exit code 1.
 */
import { parseArgs } from 'node:util';
import { gitState, machineAndLoad, packageVersion, type GitState, type MachineAndLoad } from './environment.js';
import {
  emit,
  figures,
  JITTER_MS,
  runScenario,
  type Admission,
  type ChildTask,
  type Contender,
  type ErrorCount,
  type Limit,
  type RunOutcome,
  type ScenarioHooks,
  type ScenarioSpec,
  type WindowFigures,
} from './limits-common.js';
import { writeRunResults } from './results-file.js';
import { round } from './stats.js';
import { textTable } from './text-table.js';

const DEFAULT_JOBS = 1000;
const PROCESSES = 2;

// ---------------------------------------------------------------------------------------------- options

interface Options {
  readonly only: readonly Contender[];
  readonly jobs: number;
  /** Variant names to run (e.g. 'min-time'); empty: all. */
  readonly scenarios: readonly string[];
}

function parseOptions(argv: readonly string[]): Options | { child: ChildTask } {
  const { values } = parseArgs({
    args: [...argv],
    options: { only: { type: 'string' }, jobs: { type: 'string' }, scenarios: { type: 'string' }, child: { type: 'string' } },
    strict: true,
  });
  if (values.child !== undefined) return { child: JSON.parse(values.child) as ChildTask };
  let only: Contender[] = ['bottleneck', 'sluice'];
  if (values.only !== undefined) {
    if (values.only !== 'bottleneck' && values.only !== 'sluice') throw new Error(`--only takes 'bottleneck' or 'sluice', got '${values.only}'`);
    only = [values.only];
  }
  const jobs = values.jobs === undefined ? DEFAULT_JOBS : Number(values.jobs);
  if (!Number.isSafeInteger(jobs) || jobs < 1) throw new Error(`--jobs takes a positive integer, got '${String(values.jobs)}'`);
  const scenarios = values.scenarios === undefined ? [] : values.scenarios.split(',').map((s) => s.trim()).filter((s) => s !== '');
  return { only, jobs, scenarios };
}

// ------------------------------------------------------------------------------------------ environment

interface RunInfo {
  readonly benchmark: 'limits';
  readonly date: string;
  readonly jobs: number;
  readonly processes: number;
  readonly only: readonly Contender[];
  readonly machine: MachineAndLoad;
  readonly versions: {
    readonly node: string;
    /** Of the spawned redis-server, read by the first scenario. */
    redis: string;
    readonly sluice: string;
    readonly bottleneck: string;
    readonly ioredis: string;
  };
  readonly git: Pick<GitState, 'commit' | 'dirty'>;
}

function runInfo(options: Options): RunInfo {
  const git = gitState();
  return {
    benchmark: 'limits',
    date: new Date().toISOString(),
    jobs: options.jobs,
    processes: PROCESSES,
    only: options.only,
    machine: machineAndLoad(),
    versions: {
      node: process.version,
      redis: 'unknown',
      sluice: packageVersion('sluice'),
      bottleneck: packageVersion('bottleneck'),
      ioredis: packageVersion('ioredis'),
    },
    git: { commit: git.commit, dirty: git.dirty },
  };
}

// -------------------------------------------------------------------------------------------- results

interface GroupFigures {
  readonly group: string;
  readonly admitted: number;
  readonly worstWindow: number;
  /** Only for per-group limits: against the group's own limit. */
  readonly worstWindowShare: number | null;
  readonly achievedShare: number | null;
}

interface ScenarioResult extends WindowFigures {
  readonly id: string;
  readonly contender: Contender;
  readonly title: string;
  readonly config: string;
  readonly scope: ScenarioSpec['scope'];
  /** The limit the queue-wide figures are measured against (per-group limits: their sum). */
  readonly limit: Limit;
  /** Per-group limits only: each group's limit. */
  readonly groupLimit: Limit | null;
  readonly jobs: number;
  readonly processes: number;
  readonly complete: boolean;
  /** Why the run is incomplete or failed, when it is. */
  readonly note: string | null;
  readonly admittedPerProcess: readonly number[];
  readonly perGroup: readonly GroupFigures[];
  readonly redis: {
    readonly commands: number;
    readonly commandsPerJob: number | null;
    readonly cpuMicros: number;
    readonly byCommand: readonly { readonly command: string; readonly calls: number; readonly callsPerJob: number | null }[];
  };
  readonly errors: readonly ErrorCount[];
  readonly exitCodes: readonly (number | null)[];
}

function result(spec: ScenarioSpec, outcome: RunOutcome): ScenarioResult {
  const groupCount = Math.max(1, spec.groups.length);
  const limit: Limit = spec.scope === 'group' ? { max: spec.limit.max * groupCount, durationMs: spec.limit.durationMs } : spec.limit;
  const groupLimit = spec.scope === 'group' ? spec.limit : null;
  const all = figures(
    outcome.admissions.map((a) => a.at),
    limit,
  );
  const byGroup = new Map<string, number[]>();
  for (const a of outcome.admissions) {
    if (a.group === undefined) continue;
    const list = byGroup.get(a.group) ?? [];
    list.push(a.at);
    byGroup.set(a.group, list);
  }
  const perGroup = spec.groups.map((group): GroupFigures => {
    const f = figures(byGroup.get(group) ?? [], groupLimit ?? spec.limit);
    return {
      group,
      admitted: f.admitted,
      worstWindow: f.worstWindow,
      worstWindowShare: groupLimit === null ? null : f.worstWindowShare,
      achievedShare: groupLimit === null ? null : f.achievedShare,
    };
  });
  const perJob = (n: number): number | null => (all.admitted === 0 ? null : round(n / all.admitted, 3));
  return {
    id: spec.id,
    contender: spec.contender,
    title: spec.title,
    config: spec.config,
    scope: spec.scope,
    limit,
    groupLimit,
    jobs: spec.jobs,
    processes: spec.processes,
    complete: outcome.complete,
    note: outcome.note,
    ...all,
    admittedPerProcess: Array.from({ length: spec.processes }, (_, i) => outcome.admissions.filter((a: Admission) => a.child === i).length),
    perGroup,
    redis: {
      commands: outcome.redis.commands,
      commandsPerJob: perJob(outcome.redis.commands),
      cpuMicros: Math.round(outcome.redis.cpuMicros),
      byCommand: outcome.redis.byCommand.map((c) => ({ command: c.command, calls: c.calls, callsPerJob: perJob(c.calls) })),
    },
    errors: outcome.errors,
    exitCodes: outcome.exitCodes,
  };
}

/** A scenario that threw before it had figures (a missing API, a dead Redis): recorded, not fatal. */
function failedResult(spec: ScenarioSpec, error: unknown): ScenarioResult {
  const message = error instanceof Error ? error.message : String(error);
  return result(spec, {
    admissions: [],
    errors: [{ message, count: 1 }],
    redis: { commands: 0, cpuMicros: 0, cpuSysMicros: 0, usedMemory: 0, byCommand: [] },
    redisVersion: 'unknown',
    complete: false,
    note: `failed: ${message}`,
    exitCodes: [],
  });
}

// -------------------------------------------------------------------------------------------- printing

const percent = (share: number | null): string => (share === null ? '-' : `${Math.round(share * 100)}%`);

function summaryTable(results: readonly ScenarioResult[]): string {
  return textTable(
    ['scenario', 'admitted', 'span s', 'worst 1 s', 'of limit', `downstream 1 s (${JITTER_MS} ms jitter)`, 'achieved', 'worst group 1 s', 'cmds/job', 'scripts/job', 'errors'],
    results.map((r) => {
      const worstGroup = r.perGroup.reduce<GroupFigures | undefined>((w, g) => (w === undefined || g.worstWindow > w.worstWindow ? g : w), undefined);
      const groupCell =
        r.groupLimit === null || worstGroup === undefined ? '-' : `${worstGroup.worstWindow} / ${r.groupLimit.max} (${percent(worstGroup.worstWindowShare)})`;
      return [
        r.id + (r.complete ? '' : ' (incomplete)'),
        `${r.admitted} / ${r.jobs}`,
        (r.spanMs / 1000).toFixed(2),
        `${r.worstWindow} / ${r.limit.max}`,
        percent(r.worstWindowShare),
        `${r.downstreamWorstWindow} / ${r.limit.max}`,
        percent(r.achievedShare),
        groupCell,
        r.redis.commandsPerJob === null ? '-' : r.redis.commandsPerJob.toFixed(2),
        // Script calls (FCALL on Redis 7, EVALSHA for Bottleneck and on 6.2): about the round trips per job
        // (commands/job also counts what the scripts ran).
        r.redis.byCommand
          .filter((c) => c.command === 'fcall' || c.command === 'fcall_ro' || c.command === 'evalsha')
          .reduce((sum, c) => sum + (c.callsPerJob ?? 0), 0)
          .toFixed(2),
        String(r.errors.reduce((n, e) => n + e.count, 0)),
      ];
    }),
  );
}

// ------------------------------------------------------------------------------------------------ main

interface Planned {
  readonly spec: ScenarioSpec;
  readonly variant: string;
  readonly hooks: ScenarioHooks;
}

async function plan(options: Options): Promise<Planned[]> {
  const planned: Planned[] = [];
  if (options.only.includes('bottleneck')) {
    const { bottleneckSpecs } = await import('./limits-bottleneck.js');
    for (const s of bottleneckSpecs(options.jobs, PROCESSES)) planned.push({ ...s, hooks: {} });
  }
  if (options.only.includes('sluice')) {
    // Loaded only when asked for: until sluice has its rate-limit API this part cannot run.
    const { sluiceSpecs, sluiceHooks } = await import('./limits-sluice.js');
    for (const s of sluiceSpecs(options.jobs, PROCESSES)) planned.push({ ...s, hooks: sluiceHooks(s.variant, s.spec) });
  }
  const chosen = options.scenarios.length === 0 ? planned : planned.filter((p) => options.scenarios.includes(p.variant) || options.scenarios.includes(p.spec.id));
  if (chosen.length === 0) throw new Error(`--scenarios '${options.scenarios.join(',')}' matches none of: ${planned.map((p) => p.spec.id).join(', ')}`);
  return chosen;
}

/** Generous: ten times what the limit itself needs, plus 30 s of setup. A limiter slower than that is reported as such. */
function deadlineMs(spec: ScenarioSpec): number {
  const perSecond = (spec.limit.max * Math.max(1, spec.scope === 'group' ? spec.groups.length : 1) * 1000) / spec.limit.durationMs;
  return 30_000 + Math.ceil((spec.jobs / perSecond) * 10 * 1000);
}

async function main(options: Options): Promise<void> {
  const info = runInfo(options);
  const planned = await plan(options);
  console.log(
    `rate-limit bench: ${planned.length} scenarios, ${options.jobs} jobs each, ${PROCESSES} processes; sluice ${info.versions.sluice} ` +
      `(${info.git.commit ?? 'no git'}${info.git.dirty === true ? ', dirty' : ''}), bottleneck ${info.versions.bottleneck}, ` +
      `ioredis ${info.versions.ioredis}, node ${info.versions.node}, ${info.machine.cpuModel} x ${info.machine.cores}`,
  );
  if (info.machine.loadAverage.start > 0.5) console.log(`Note: load average ${info.machine.loadAverage.start} before the run: start times may be noisy.`);

  const results: ScenarioResult[] = [];
  for (const p of planned) {
    process.stdout.write(`  ${p.spec.id}: ${p.spec.title} ... `);
    const started = Date.now();
    let r: ScenarioResult;
    try {
      const outcome = await runScenario(p.spec, p.variant, deadlineMs(p.spec), p.hooks);
      if (info.versions.redis === 'unknown') info.versions.redis = outcome.redisVersion;
      r = result(p.spec, outcome);
    } catch (error) {
      r = failedResult(p.spec, error);
    }
    results.push(r);
    const status = r.complete ? 'ok' : (r.note ?? 'incomplete');
    console.log(`${r.admitted} admitted in ${((Date.now() - started) / 1000).toFixed(1)} s, worst window ${r.worstWindow}; ${status}`);
  }

  console.log(
    `\nRedis ${info.versions.redis}. Worst window: most starts in any [t, t + 1 s); downstream: the same with every start 0 to ${JITTER_MS} ms late; ` +
      'achieved: admitted / (span + 1 s) / limit.\n',
  );
  console.log(`${summaryTable(results)}\n`);
  for (const r of results) {
    if (r.errors.length > 0) {
      console.log(`Errors of ${r.id}:`);
      for (const e of r.errors.slice(0, 5)) console.log(`  ${e.count} x ${e.message}`);
    }
    const top = r.redis.byCommand
      .slice(0, 6)
      .map((c) => `${c.command} ${c.callsPerJob === null ? '-' : c.callsPerJob.toFixed(2)}`)
      .join(', ');
    if (top !== '') console.log(`Commands per job, ${r.id}: ${top}`);
  }
  console.log(`\nResults: ${writeRunResults(info, results)}`);
  if (results.some((r) => r.contender === 'sluice' && (!r.complete || r.errors.length > 0))) process.exitCode = 1;
}

async function child(task: ChildTask): Promise<void> {
  if (task.contender === 'bottleneck') {
    const { bottleneckChild } = await import('./limits-bottleneck.js');
    await bottleneckChild(task);
  } else {
    const { sluiceChild } = await import('./limits-sluice.js');
    await sluiceChild(task);
  }
}

const parsed = parseOptions(process.argv.slice(2));
if ('child' in parsed) {
  try {
    await child(parsed.child);
    // Leftover timers or sockets of a closed limiter must not keep the child alive.
    process.exit(0);
  } catch (error) {
    emit.error(error);
    console.error(`child ${parsed.child.index} failed:`, error);
    process.exit(1);
  }
} else {
  try {
    await main(parsed);
  } catch (error) {
    console.error('benchmark failed:', error);
    process.exitCode = 1;
  }
}

/**
 * Turns a comparison results file into the printed tables and docs/benchmarks.md: every figure per
 * contender (the median over rounds), the ratios sluice/BullMQ and sluice/Bee-Queue, where each
 * library's Redis commands go, and how the run was made.
 */
import { PRIORITY_LEVELS, type ContenderId } from './contenders/contender.js';
import type { CompareResults, ContenderInfo } from './results-format.js';
import {
  ADD_CHUNK,
  C1_CONCURRENCY,
  DELAYED_CONCURRENCY,
  DRAIN_CONCURRENCY,
  E2E_CONCURRENCY,
  INFLIGHT_ADDS,
  LATENCY_CONCURRENCY,
  PAYLOAD_BYTES,
  PRIORITY_CONCURRENCY,
  SCENARIO_IDS,
  SINGLE_ADD_WARM_UP,
  SLEEP_CONCURRENCY,
  SLEEP_MS,
  type Measured,
  type ScenarioId,
} from './scenarios.js';
import { median } from './stats.js';
import { textTable } from './text-table.js';

const integer = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

interface Figure {
  /** Figure number: 1-9 as issue 4 lists them, 10-13 issue 13's interactive path. */
  readonly n: string;
  readonly label: string;
  readonly scenario: ScenarioId;
  /** Which way is better; null for a figure that is a fact rather than a score. */
  readonly better: 'lower' | 'higher' | null;
  readonly pick: (m: Measured) => number | undefined;
  /** How the runs of several rounds combine: the median, except for extremes and counts. */
  readonly combine: 'median' | 'min' | 'sum';
  readonly format: (value: number) => string;
  readonly ratio: boolean;
}

const formatInteger = (value: number): string => integer.format(value);
const fixed = (digits: number) => (value: number) => value.toFixed(digits);
const signed = (value: number): string => `${value >= 0 ? '+' : ''}${value.toFixed(1)}`;
/** A size from the results file; '?' in a file written before the scenario that uses it existed. */
const size = (value: number | undefined): string => (value === undefined ? '?' : integer.format(value));

/**
 * The per-add (or per-job) cost rows of a scenario: producer CPU when there is no worker, Redis CPU and
 * Redis commands. `what` names the unit: 'add' or 'job'.
 */
function costFigures(n: string, scenario: ScenarioId, title: string, what: 'add' | 'job', producer: boolean): Figure[] {
  const row = (label: string, pick: Figure['pick'], digits: number): Figure => ({
    n,
    label: `${title}: ${label} per ${what}`,
    scenario,
    better: 'lower',
    pick,
    combine: 'median',
    format: fixed(digits),
    ratio: true,
  });
  return [
    ...(producer ? [row('producer Node CPU µs', (m) => m.producerCpuMicrosPerJob, 1)] : []),
    row('Redis CPU µs', (m) => m.redis.cpuMicrosPerJob, 1),
    row('Redis commands', (m) => m.redis.commandsPerJob, 2),
  ];
}

function figures(results: CompareResults): Figure[] {
  const { jobs, delayedJobs, latencySamples, singleAddJobs, c1Jobs, priorityJobs } = results.sizes;
  const n = integer.format(jobs);
  const ideal = (jobs * SLEEP_MS) / SLEEP_CONCURRENCY / 1000;
  return [
    {
      n: '1',
      label: `Redis CPU µs per job, add + process (${n} jobs)`,
      scenario: 'e2e',
      better: 'lower',
      pick: (m) => m.redis.cpuMicrosPerJob,
      combine: 'median',
      format: fixed(1),
      ratio: true,
    },
    {
      n: '2',
      label: 'Redis commands per job, add + process',
      scenario: 'e2e',
      better: 'lower',
      pick: (m) => m.redis.commandsPerJob,
      combine: 'median',
      format: fixed(2),
      ratio: true,
    },
    {
      n: '3',
      label: `jobs/s, add + process (producer + worker process at concurrency ${E2E_CONCURRENCY})`,
      scenario: 'e2e',
      better: 'higher',
      pick: (m) => m.values.jobsPerSecond,
      combine: 'median',
      format: formatInteger,
      ratio: true,
    },
    {
      n: '4',
      label: `jobs/s, drain ${n} waiting jobs (worker process at concurrency ${DRAIN_CONCURRENCY})`,
      scenario: 'drain',
      better: 'higher',
      pick: (m) => m.values.jobsPerSecond,
      combine: 'median',
      format: formatInteger,
      ratio: true,
    },
    {
      n: '5',
      label: `jobs/s, bulk add (chunks of ${integer.format(ADD_CHUNK)})`,
      scenario: 'add',
      better: 'higher',
      pick: (m) => m.values.jobsPerSecond,
      combine: 'median',
      format: formatInteger,
      ratio: true,
    },
    {
      n: '6',
      label: `wall s, ${n} jobs of ${SLEEP_MS} ms at concurrency ${integer.format(SLEEP_CONCURRENCY)} (ideal ${ideal.toFixed(1)})`,
      scenario: 'sleep',
      better: 'lower',
      pick: (m) => m.values.wallSeconds,
      combine: 'median',
      format: fixed(2),
      ratio: true,
    },
    {
      n: '7',
      label: `idle worker latency p50, ms (add -> handler start, ${latencySamples} samples)`,
      scenario: 'latency',
      better: 'lower',
      pick: (m) => m.values.latencyP50Ms,
      combine: 'median',
      format: fixed(2),
      ratio: true,
    },
    {
      n: '7',
      label: 'idle worker latency p99, ms',
      scenario: 'latency',
      better: 'lower',
      pick: (m) => m.values.latencyP99Ms,
      combine: 'median',
      format: fixed(2),
      ratio: true,
    },
    {
      n: '8',
      label: `delayed jobs (${integer.format(delayedJobs)} over 0-5 s): lateness p99, ms`,
      scenario: 'delayed',
      better: 'lower',
      pick: (m) => m.values.latenessP99Ms,
      combine: 'median',
      format: fixed(1),
      ratio: true,
    },
    {
      n: '8',
      label: 'delayed jobs: earliest start vs intended time, ms (< 0: ran early)',
      scenario: 'delayed',
      better: null,
      pick: (m) => m.values.latenessMinMs,
      combine: 'min',
      format: signed,
      ratio: false,
    },
    {
      n: '8',
      label: 'delayed jobs that ran early (all rounds)',
      scenario: 'delayed',
      better: 'lower',
      pick: (m) => m.values.earlyJobs,
      combine: 'sum',
      format: formatInteger,
      ratio: false,
    },
    {
      n: '9',
      label: `Redis memory per waiting job, bytes (${PAYLOAD_BYTES}-byte payload)`,
      scenario: 'memory',
      better: 'lower',
      pick: (m) => m.values.bytesPerJob,
      combine: 'median',
      format: formatInteger,
      ratio: true,
    },
    {
      n: '10',
      label: `jobs/s, single add (\`await add()\` one at a time, ${size(singleAddJobs)} jobs, no worker)`,
      scenario: 'single-add',
      better: 'higher',
      pick: (m) => m.values.jobsPerSecond,
      combine: 'median',
      format: formatInteger,
      ratio: true,
    },
    ...costFigures('10', 'single-add', 'single add', 'add', true),
    {
      n: '11',
      label: `jobs/s, single adds ${INFLIGHT_ADDS} in flight from one process (${n} jobs, no worker)`,
      scenario: 'inflight-add',
      better: 'higher',
      pick: (m) => m.values.jobsPerSecond,
      combine: 'median',
      format: formatInteger,
      ratio: true,
    },
    ...costFigures('11', 'inflight-add', `${INFLIGHT_ADDS} adds in flight`, 'add', true),
    {
      n: '12',
      label: `jobs/s, drain ${size(c1Jobs)} waiting jobs (worker process at concurrency ${C1_CONCURRENCY})`,
      scenario: 'c1',
      better: 'higher',
      pick: (m) => m.values.jobsPerSecond,
      combine: 'median',
      format: formatInteger,
      ratio: true,
    },
    ...costFigures('12', 'c1', `concurrency ${C1_CONCURRENCY}`, 'job', false),
    {
      n: '13',
      label: `jobs/s, drain ${size(priorityJobs)} jobs on ${PRIORITY_LEVELS} priority levels (worker process at concurrency ${PRIORITY_CONCURRENCY})`,
      scenario: 'priority-drain',
      better: 'higher',
      pick: (m) => m.values.jobsPerSecond,
      combine: 'median',
      format: formatInteger,
      ratio: true,
    },
    {
      n: '13',
      label: 'priority drain: Redis CPU µs per job',
      scenario: 'priority-drain',
      better: 'lower',
      pick: (m) => m.redis.cpuMicrosPerJob,
      combine: 'median',
      format: fixed(1),
      ratio: true,
    },
  ];
}

/** The successful runs of one scenario and contender, in round order. */
function runsOf(results: CompareResults, scenario: ScenarioId, contender: ContenderId): Measured[] {
  const out: Measured[] = [];
  for (const run of results.runs) if (run.scenario === scenario && run.contender === contender && run.measured !== undefined) out.push(run.measured);
  return out;
}

/** Why `scenario` does not apply to `contender`, when the run recorded it as not applicable. */
function notApplicable(results: CompareResults, scenario: ScenarioId, contender: ContenderId): string | undefined {
  return results.runs.find((r) => r.scenario === scenario && r.contender === contender && r.notApplicable !== undefined)?.notApplicable;
}

function combined(figure: Figure, runs: readonly Measured[]): number | undefined {
  const values = runs.map(figure.pick).filter((v): v is number => v !== undefined && Number.isFinite(v));
  if (values.length === 0) return undefined;
  if (figure.combine === 'min') return Math.min(...values);
  if (figure.combine === 'sum') return values.reduce((a, b) => a + b, 0);
  return median(values);
}

export interface FigureRow {
  readonly n: string;
  readonly label: string;
  readonly better: 'lower' | 'higher' | null;
  readonly values: Partial<Record<ContenderId, number>>;
  readonly formatted: Record<ContenderId, string>;
  /** sluice / other, when both ran and the figure is a ratio-able score. */
  readonly ratios: Partial<Record<ContenderId, number>>;
}

export function summarize(results: CompareResults): FigureRow[] {
  return figures(results)
    .filter((figure) => results.scenarios.includes(figure.scenario))
    .map((figure) => {
    const values: Partial<Record<ContenderId, number>> = {};
    const formatted = {} as Record<ContenderId, string>;
    for (const c of results.contenders) {
      const runs = runsOf(results, figure.scenario, c.id);
      const value = combined(figure, runs);
      if (value !== undefined) values[c.id] = value;
      formatted[c.id] = value !== undefined ? figure.format(value) : notApplicable(results, figure.scenario, c.id) !== undefined ? 'n/a' : 'failed';
    }
    const ratios: Partial<Record<ContenderId, number>> = {};
    const ours = values.sluice;
    if (figure.ratio && ours !== undefined) {
      for (const c of results.contenders) {
        const theirs = values[c.id];
        if (c.id !== 'sluice' && theirs !== undefined && theirs !== 0) ratios[c.id] = ours / theirs;
      }
    }
    return { n: figure.n, label: figure.label, better: figure.better, values, formatted, ratios };
  });
}

function others(results: CompareResults): ContenderInfo[] {
  return results.contenders.filter((c) => c.id !== 'sluice');
}

const hasSluice = (results: CompareResults): boolean => results.contenders.some((c) => c.id === 'sluice');

function ratioCell(row: FigureRow, id: ContenderId): string {
  const ratio = row.ratios[id];
  return ratio === undefined ? '—' : ratio >= 100 ? ratio.toFixed(0) : ratio >= 10 ? ratio.toFixed(1) : ratio.toFixed(2);
}

function mainTable(results: CompareResults): { header: string[]; rows: string[][] } {
  const ratioColumns = hasSluice(results) ? others(results) : [];
  const header = ['#', 'figure', ...results.contenders.map((c) => c.label), ...ratioColumns.map((c) => `sluice/${c.label}`), 'better'];
  const rows = summarize(results).map((row) => [
    row.n,
    row.label,
    ...results.contenders.map((c) => row.formatted[c.id]),
    ...ratioColumns.map((c) => ratioCell(row, c.id)),
    row.better ?? '',
  ]);
  return { header, rows };
}

interface TopCommand {
  readonly command: string;
  readonly callsPerJob: number;
  readonly usecPerJob: number;
}

/** The scenarios whose Redis commands the report breaks down, when the run had them. */
const BREAKDOWN: readonly ScenarioId[] = ['e2e', 'single-add', 'c1'];

/** Commands per job in a scenario's runs, averaged over rounds, most called first. */
export function topCommands(results: CompareResults, scenario: ScenarioId, contender: ContenderId, count: number): TopCommand[] {
  const runs = runsOf(results, scenario, contender);
  if (runs.length === 0) return [];
  const sums = new Map<string, { calls: number; usec: number }>();
  for (const run of runs) {
    for (const c of run.redis.commandsByJob) {
      const sum = sums.get(c.command) ?? { calls: 0, usec: 0 };
      sum.calls += c.callsPerJob;
      sum.usec += c.usecPerJob;
      sums.set(c.command, sum);
    }
  }
  return [...sums]
    .map(([command, sum]) => ({ command, callsPerJob: sum.calls / runs.length, usecPerJob: sum.usec / runs.length }))
    .sort((a, b) => b.callsPerJob - a.callsPerJob)
    .slice(0, count);
}

function topLine(results: CompareResults, scenario: ScenarioId, contender: ContenderId, count: number): string {
  return topCommands(results, scenario, contender, count)
    .map((c) => `${c.command} ${c.callsPerJob.toFixed(2)}`)
    .join(', ');
}

const SCENARIO_LABELS: Record<ScenarioId, string> = {
  e2e: `add + process, c${E2E_CONCURRENCY}`,
  drain: `drain, c${DRAIN_CONCURRENCY}`,
  add: 'bulk add',
  sleep: `${SLEEP_MS} ms jobs, c${SLEEP_CONCURRENCY}`,
  latency: `idle latency, c${LATENCY_CONCURRENCY}`,
  delayed: `delayed, c${DELAYED_CONCURRENCY}`,
  memory: 'memory (bulk add)',
  'single-add': 'single add',
  'inflight-add': `${INFLIGHT_ADDS} adds in flight`,
  c1: `drain, c${C1_CONCURRENCY}`,
  'priority-drain': `drain, ${PRIORITY_LEVELS} priorities, c${PRIORITY_CONCURRENCY}`,
};

/** Redis and Node cost of every scenario, median over rounds. */
function costTable(results: CompareResults): { header: string[]; rows: string[][] } {
  const header = ['scenario', 'contender', 'Redis commands/job', 'Redis CPU µs/job', 'Redis CPU', 'worker CPU µs/job', 'producer CPU µs/job'];
  const rows: string[][] = [];
  for (const scenario of results.scenarios) {
    for (const c of results.contenders) {
      const runs = runsOf(results, scenario, c.id);
      if (runs.length === 0) {
        rows.push([SCENARIO_LABELS[scenario], c.label, notApplicable(results, scenario, c.id) !== undefined ? 'n/a' : 'failed', '', '', '', '']);
        continue;
      }
      const med = (pick: (m: Measured) => number | undefined): number | undefined => {
        const values = runs.map(pick).filter((v): v is number => v !== undefined);
        return values.length === 0 ? undefined : median(values);
      };
      const show = (value: number | undefined, digits: number, suffix = ''): string => (value === undefined ? '—' : `${value.toFixed(digits)}${suffix}`);
      rows.push([
        SCENARIO_LABELS[scenario],
        c.label,
        show(med((m) => m.redis.commandsPerJob), 2),
        show(med((m) => m.redis.cpuMicrosPerJob), 1),
        show(med((m) => m.redis.cpuPercent), 0, '%'),
        show(med((m) => m.workerCpuMicrosPerJob), 1),
        show(med((m) => m.producerCpuMicrosPerJob), 1),
      ]);
    }
  }
  return { header, rows };
}

/** The scenarios this run left out (their figures are not in the tables), or '' when it ran them all. */
function notRunNote(results: CompareResults): string {
  const left = SCENARIO_IDS.filter((id) => !results.scenarios.includes(id));
  return left.length === 0 ? '' : `Not run (left out of the tables): ${left.join(', ')}.`;
}

function failures(results: CompareResults): string[] {
  return results.runs.filter((r) => r.error !== undefined).map((r) => `${r.scenario} / ${r.contender} / round ${r.round}: ${r.error ?? ''}`);
}

// ------------------------------------------------------------------------------------------- console

export function consoleReport(results: CompareResults): string {
  const main = mainTable(results);
  const cost = costTable(results);
  const notRun = notRunNote(results);
  const breakdown = BREAKDOWN.filter((scenario) => results.scenarios.includes(scenario));
  const out = [
    textTable(main.header, main.rows, 2),
    ...(notRun === '' ? [] : [notRun]),
    ...breakdown.flatMap((scenario) => [
      '',
      `Redis commands per job, ${SCENARIO_LABELS[scenario]} (commandstats counts the commands scripts call, and the script call itself):`,
      ...results.contenders.map((c) => `  ${c.label}: ${topLine(results, scenario, c.id, 8)}`),
    ]),
    '',
    'Cost per job of every scenario (median over rounds):',
    textTable(cost.header, cost.rows, 2),
  ];
  const failed = failures(results);
  if (failed.length > 0) out.push('', 'FAILED RUNS:', ...failed.map((f) => `  ${f}`));
  return out.join('\n');
}

// ------------------------------------------------------------------------------------------ markdown

function markdownTable(header: readonly string[], rows: readonly (readonly string[])[], leftColumns: number): string {
  const escape = (cell: string): string => cell.replace(/\|/g, '\\|');
  const align = header.map((_, c) => (c < leftColumns ? '---' : '---:'));
  return [header, align, ...rows].map((cells) => `| ${cells.map(escape).join(' | ')} |`).join('\n');
}

function gib(bytes: number): string {
  return `${(bytes / 2 ** 30).toFixed(0)} GiB`;
}

export function markdown(results: CompareResults, resultsFile: string): string {
  const main = mainTable(results);
  const cost = costTable(results);
  const planned = (scenario: ScenarioId): boolean => results.scenarios.includes(scenario);
  const notRun = notRunNote(results);
  const versions = results.contenders.map((c) => `${c.label} ${c.version}`).join(', ');
  const { jobs, latencySamples, latencyWarmUp, delayedJobs, singleAddJobs, c1Jobs, priorityJobs } = results.sizes;
  const n = integer.format(jobs);
  const m = results.machine;
  const git = results.git;
  const code = git.changed.filter((path) => path.startsWith('src/') || path.startsWith('lua/'));
  const dirty =
    git.dirty !== true
      ? git.dirty === false
        ? ' (clean working tree)'
        : ''
      : code.length > 0
        ? ` plus uncommitted changes to sluice's code: ${code.join(', ')}`
        : " (uncommitted changes only outside sluice's code: bench, docs or package files)";
  const offsets = results.runs.map((r) => Math.abs(r.measured?.clockOffsetMs ?? 0));
  const maxOffset = offsets.length === 0 ? 0 : Math.max(...offsets);
  const breakdown = BREAKDOWN.filter(planned);
  const topRows = breakdown.flatMap((scenario) =>
    results.contenders.map((c) => [SCENARIO_LABELS[scenario], c.label, topLine(results, scenario, c.id, 8)]),
  );
  /** How each scenario ran, by figure: only those of the scenarios this run had. */
  const method: [ScenarioId, string][] = [
    [
      'e2e',
      `- 1-3: a worker process at concurrency ${E2E_CONCURRENCY} is started, and the bench adds ${n} jobs with the library's bulk ` +
        `call, ${integer.format(ADD_CHUNK)} per call, one call after another; the window ends at the last completion.`,
    ],
    [
      'drain',
      `- 4: ${n} jobs are added first; the window runs from starting a worker process at concurrency ${DRAIN_CONCURRENCY} to its last completion.`,
    ],
    [
      'add',
      `- 5: ${n} jobs in bulk calls of ${integer.format(ADD_CHUNK)}, no worker.`,
    ],
    [
      'sleep',
      `- 6: ${n} jobs added first, then one worker process at concurrency ${integer.format(SLEEP_CONCURRENCY)}; ideal: ` +
        `${n} x ${SLEEP_MS} ms / ${integer.format(SLEEP_CONCURRENCY)}.`,
    ],
    [
      'latency',
      `- 7: a worker process at concurrency ${LATENCY_CONCURRENCY}, idle and blocked. The bench adds one job (the library's ` +
        `single add), waits until it completed, pauses 25-35 ms so the worker blocks again, and adds the next: ` +
        `${latencySamples} samples after ${latencyWarmUp} unrecorded ones. Latency is from just before the add call to the ` +
        'start of the handler, with the worker\'s clock corrected by the offset an IPC ping exchange measured (at most ' +
        `${maxOffset.toFixed(3)} ms in this run).`,
    ],
    [
      'delayed',
      `- 8: ${integer.format(delayedJobs)} jobs with delays spread evenly over 0-5 s, bulk-added (chunks of ` +
        `${integer.format(ADD_CHUNK)}) to an idle worker process at concurrency ${DELAYED_CONCURRENCY}. A job's intended ` +
        "time is `Date.now()` right before its chunk's add call plus its delay; lateness is the handler's start minus " +
        'that. sluice and BullMQ get `delay` (ms), Bee-Queue `delayUntil(intended time)`. A library that counts the ' +
        'delay from a later instant (when its script runs on Redis, say) starts every job late by the time from the add ' +
        'call to that instant, which shows in the earliest-start row.',
    ],
    [
      'memory',
      `- 9: \`used_memory\` growth while ${n} jobs whose data is \`{ i, pad }\` with a ${PAYLOAD_BYTES}-character \`pad\` are ` +
        'bulk-added and left waiting. One job was added to the same queue before the window (and one to another queue, ' +
        'so scripts are loaded), so the figure is the cost of one more waiting job.',
    ],
    [
      'single-add',
      `- 10: ${size(singleAddJobs)} jobs with the library's single add, each call awaited before the next (as an HTTP ` +
        `handler adds one job per request), no worker; ${SINGLE_ADD_WARM_UP} unrecorded adds first, on the same producer. Producer CPU is ` +
        "the bench process's, the only Node process running.",
    ],
    [
      'inflight-add',
      `- 11: ${n} jobs with the single add from one process, ${INFLIGHT_ADDS} calls outstanding at once (a new one starts ` +
        `as each resolves, as in an HTTP server under load), no worker; ${SINGLE_ADD_WARM_UP} unrecorded adds first.`,
    ],
    [
      'c1',
      `- 12: ${size(c1Jobs)} jobs are added first; the window runs from starting a worker process at concurrency ` +
        `${C1_CONCURRENCY} (every library's default) to its last completion.`,
    ],
    [
      'priority-drain',
      `- 13: ${size(priorityJobs)} jobs bulk-added with their level taking turns (job i on level i mod ${PRIORITY_LEVELS}, so ` +
        `the worker has to reorder them), then a worker process at concurrency ${PRIORITY_CONCURRENCY} drains them. ` +
        'Bee-Queue has no priorities: n/a.',
    ],
  ];
  const failed = failures(results);
  const lines = [
    '# Benchmarks: sluice, BullMQ and Bee-Queue',
    '',
    `<!-- Generated by bench/report.ts from ${resultsFile}. Do not edit by hand: run \`npm run bench\` (or \`npm run bench:docs\`). -->`,
    '',
    `One run of \`npm run bench\`${results.quick ? ' --quick' : ''}: the same scenarios for all three libraries, ` +
      `${results.rounds} round${results.rounds === 1 ? '' : 's'}, the libraries taking turns within each scenario. ` +
      `Each figure is the median over the rounds. Versions: ${versions}; Node ${results.node}; Redis ${results.redis.version}.`,
    '',
    '**Read the ratios, not the absolute numbers.** Throughput figures on these shared 2-core machines swing by up to ' +
      '2.5x from one run to the next, while commands per job do not move at all and Redis CPU per job moves little. ' +
      'That is why the libraries are compared within one run, as ratios: a ratio below 1 favours sluice where lower ' +
      'is better, above 1 where higher is better.',
    '',
    markdownTable(main.header, main.rows, 2),
    '',
    ...(notRun === '' ? [] : [notRun, '']),
    ...(breakdown.length > 0
      ? [
          '## Where the Redis commands go',
          '',
          `Redis commands per job (INFO commandstats; on Redis 7 that counts each script call ` +
            '(`fcall` for sluice, `evalsha` for the others) and also every command the script runs):',
          '',
          markdownTable(['scenario', 'library', 'commands per job, most called first'], topRows, 3),
          '',
        ]
      : []),
    '## Cost per job of every scenario',
    '',
    'Redis CPU is `used_cpu_sys + used_cpu_user` of the bench\'s own redis-server over the measured window, per job; ' +
      '"Redis CPU" is the share of one core it used (near 100% means Redis was the bottleneck). Worker CPU is the ' +
      'worker process\' user + system time from its start to its last completion; producer CPU is the bench process\'s.',
    '',
    markdownTable(cost.header, cost.rows, 2),
    '',
    '## The run',
    '',
    `- Date: ${results.date} (${results.quick ? 'quick: sizes / 10' : 'full size'}), results: \`${resultsFile}\`.`,
    `- Machine: ${m.cpuModel}, ${m.cores} cores, ${gib(m.totalMemoryBytes)}, ${m.platform} ${m.release} (${m.arch}).`,
    `- Pinning: ${results.pinning.note}.`,
    `- Load average (1 min): ${results.loadAverage.start} at the start, ${results.loadAverage.end} at the end, ` +
      `${results.loadAverage.maxBeforeRun} the highest before any single run (the machine is shared; every run's figure is in the JSON).`,
    `- sluice at commit ${git.commit ?? 'unknown'}${dirty}.`,
    ...(failed.length > 0 ? ['', '**Failed runs** (their figures are missing above):', '', ...failed.map((f) => `- ${f}`)] : []),
    '',
    '## How to reproduce',
    '',
    '```sh',
    'npm ci',
    'npm run bench              # full size, writes bench/results/compare-<date>.json and this page',
    'npm run bench -- --quick   # sizes / 10, one round: a smoke run (writes the JSON, not this page)',
    'npm run bench:docs         # this page again from the newest full results file',
    '```',
    '',
    'Needs `redis-server` on the PATH (the bench starts its own on a free port and stops it at the end) and, for ' +
      'pinning, `taskset` (util-linux). Options: `--rounds N`, `--contenders sluice,bullmq`, `--scenarios e2e,drain` ' +
      `(of ${SCENARIO_IDS.join(', ')}), ` +
      '`--docs` (write this page from a quick or partial run too).',
    '',
    '## Method',
    '',
    '- One redis-server, started by the bench, pinned to CPU 0; the bench (producer) and every worker process pinned ' +
      'to CPU 1. Before every single run: `FLUSHALL`. Every run that has a worker starts a new worker process (so its ' +
      'code starts cold, like a freshly deployed worker), connects it, and only then starts the clock.',
    '- Redis figures are deltas of `INFO` (commandstats, cpu, memory) taken right before and right after the measured ' +
      'window. The worker process counts its completions in memory and tells the bench over IPC, so finding the end ' +
      'of a run adds no Redis command. Completions are counted on each library\'s own completion event, which fires ' +
      'after the result was written to Redis.',
    `- Job data is \`{ i }\` (a sequence number); the handler does nothing, except in figure 6 (it awaits a ${SLEEP_MS} ms timer).`,
    ...method.filter(([scenario]) => planned(scenario)).map(([, text]) => text),
    '',
    '## Settings',
    '',
    "Every library runs with its defaults, through its usual API: sluice `Queue.addBulk` / `add` with `delay` and " +
      "`new Worker(name, handler, { concurrency })`; BullMQ `Queue.addBulk` / `add` with `delay` and `new Worker(name, " +
      "handler, { concurrency })`; Bee-Queue `queue.saveAll(jobs)` / `job.save()`, `delayUntil(date)` and " +
      '`queue.process(concurrency, handler)`. Workers are created with `autorun: false` (sluice, BullMQ) and started ' +
      "with `run()` when the clock starts; Bee-Queue's worker is started by `process()`.",
    '',
    ...(planned('priority-drain')
      ? [
          `Priorities (figure 13): sluice's \`priority\` 0 to ${PRIORITY_LEVELS - 1} on its default ${PRIORITY_LEVELS} levels; BullMQ's ` +
            `\`priority\` 1 to ${PRIORITY_LEVELS} (BullMQ's 0 means no priority, and such jobs skip its prioritized set), so ` +
            'every job of the scenario is a prioritized one in both.',
          '',
        ]
      : []),
    'Changed from the defaults, for a fair comparison:',
    '',
    '- Bee-Queue: `getEvents: false` on the worker and the producer. By default every Bee-Queue instance subscribes to ' +
      "its queue's events; sluice and BullMQ read events only in a separate QueueEvents, which no library runs here. " +
      'Bee-Queue still publishes its events (`sendEvents` stays on), as sluice and BullMQ still write theirs. On the ' +
      'producer also `storeJobs: false` (without events nothing ever removes its jobs from the in-memory map) and ' +
      '`isWorker: false`, as a producer-only Bee-Queue is meant to be set up.',
    '- Bee-Queue: `activateDelayedJobs: true` on the worker of figure 8; without it Bee-Queue never runs a delayed job.',
    '',
    'Defaults that differ and show in the figures:',
    '',
    '- Retention: sluice keeps the newest 1,000 completed jobs (and none older than a day) as records in one hash, so once ' +
      '1,000 have completed every complete call also deletes as many records as it adds (one `HDEL` per call). BullMQ ' +
      '(`removeOnComplete` unset) and Bee-Queue (`removeOnSuccess: false`) keep every completed job.',
    '- Events: sluice writes one events-stream entry per script call; BullMQ writes four per job (`added`, `waiting`, ' +
      '`active`, `completed`) to a stream capped near 10,000; Bee-Queue publishes one pub/sub message per finished job.',
    "- Delayed jobs: Bee-Queue's `delayedDebounce` (1,000 ms by default) lets it hold back a delayed job by up to a " +
      'second to activate several at once, which shows in its lateness.',
    '',
  ];
  return lines.join('\n');
}


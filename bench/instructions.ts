/**
 * Redis instructions per job: redis-server runs under valgrind's callgrind while one producer and one
 * worker add and process N jobs, and the instructions it executed are divided by N. Unlike CPU time this
 * figure repeats to within a fraction of a percent whatever else the machine is doing, so it is the one to
 * compare before and after a change to a Lua script (time-based figures need a quiet machine: npm run bench).
 *
 *   npm run bench:instructions                 N = 10,000 (about 20 s under valgrind)
 *   npm run bench:instructions -- --jobs 2000
 *   npm run bench:instructions -- --events 0   with events switched off, to see what they cost
 *   npm run bench:instructions -- --listpack-value 128   Redis' hash-max-listpack-value raised from 64
 *   npm run bench:instructions -- --keep /tmp/cg.out     keeps callgrind's output, for callgrind_annotate
 *   npm run bench:instructions -- --phases   adds every job first, then processes them: the two counted apart
 *   npm run bench:instructions -- --phases --single-adds --concurrency 1
 *                                            the interactive path: `await queue.add()` one job at a time, and
 *                                            a worker at concurrency 1 (issue 13's figures)
 *                                            (callgrind_control dumps between them)
 *   npm run bench:instructions -- --batch    the jobs are the members of one batch with an onComplete callback
 *                                            (opened, added 1,000 per addBulk, sealed): what a member costs
 *   npm run bench:instructions -- --flow diamond   the jobs are flows of 4, A -> {B, C} -> D, 250 per addFlow
 *   npm run bench:instructions -- --flow chain     ... A -> B -> C -> D: what a job in a flow costs
 *   npm run bench:instructions -- --levels 3       the jobs spread over the queue's 3 priority levels, job i on
 *                                                  level i mod 3, as the comparison bench's priority-drain
 *                                                  scenario adds them (default: no priority option, the
 *                                                  middle level)
 *   npm run bench:instructions -- --chunk 4        jobs per add call (addBulk, or addFlow with --flow; 1 to
 *                                                  1,000, a multiple of 4 with --flow): --flow diamond
 *                                                  --chunk 4 is one addFlow per diamond, as users add them,
 *                                                  and --chunk 4 alone the plain jobs in the same calls
 *
 * Prints the total and per-job instructions, the functions that took the most (callgrind_annotate, when
 * installed), and Redis' commands per job; writes bench/results/instructions-<ISO date>.json.
 * Needs valgrind and redis-server on the PATH.
 */
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { Queue, Worker, type FlowJob } from 'sluice';
import { freePort } from '../test/harness/redis-server.js';
import { gitState, machineAndLoad, packageVersion } from './environment.js';
import { diff, redisVersion, takeSnapshot, type RedisDelta } from './redis-stats.js';
import { writeRunResults } from './results-file.js';
import { dump, totalInstructions } from './callgrind.js';

/** 100 bytes of msgpack, as in the comparison bench's memory figure. */
const PAYLOAD = { to: 'someone@example.com', subject: 'x'.repeat(70) };
const ADD_CHUNK = 1000;
/** A flow's shape: its 4 jobs' dependencies, by index. */
const SHAPES = {
  diamond: [[], [0], [0], [1, 2]],
  chain: [[], [0], [1], [2]],
} as const satisfies Record<string, readonly (readonly number[])[]>;
type Shape = keyof typeof SHAPES;
const FLOW_JOBS = 4;
/** The queue's priority levels: sluice's default, 0 running first. */
const PRIORITY_LEVELS = 3;

interface Options {
  jobs: number;
  events: number;
  listpackValue: number;
  keep: string | undefined;
  phases: boolean;
  singleAdds: boolean;
  concurrency: number;
  batch: boolean;
  flow: Shape | undefined;
  chunk: number;
  /** Jobs spread over this many priority levels (job i on level i mod levels); 0: no priority option. */
  levels: number;
}

function options(): Options {
  const { values } = parseArgs({
    options: {
      jobs: { type: 'string' },
      events: { type: 'string' },
      'listpack-value': { type: 'string' },
      keep: { type: 'string' },
      phases: { type: 'boolean' },
      'single-adds': { type: 'boolean' },
      concurrency: { type: 'string' },
      batch: { type: 'boolean' },
      flow: { type: 'string' },
      chunk: { type: 'string' },
      levels: { type: 'string' },
    },
    strict: true,
  });
  const jobs = Number(values.jobs ?? '10000');
  const events = Number(values.events ?? '10000');
  const listpackValue = Number(values['listpack-value'] ?? '64');
  if (!Number.isSafeInteger(jobs) || jobs < ADD_CHUNK) throw new Error(`--jobs takes an integer >= ${ADD_CHUNK}`);
  if (!Number.isSafeInteger(events) || events < 0) throw new Error('--events takes an integer >= 0 (0: events off)');
  if (!Number.isSafeInteger(listpackValue) || listpackValue < 1) throw new Error('--listpack-value takes a positive integer');
  const concurrency = Number(values.concurrency ?? '64');
  if (!Number.isSafeInteger(concurrency) || concurrency < 1) throw new Error('--concurrency takes a positive integer');
  const batch = values.batch === true;
  if (batch && values['single-adds'] === true) throw new Error('--batch adds its members 1,000 per addBulk: leave out --single-adds');
  const flow = values.flow;
  if (flow !== undefined && !Object.hasOwn(SHAPES, flow)) throw new Error(`--flow takes ${Object.keys(SHAPES).join(' or ')}, got '${flow}'`);
  if (flow !== undefined && (batch || values['single-adds'] === true)) throw new Error('--flow adds flows: leave out --batch and --single-adds');
  const chunk = Number(values.chunk ?? String(ADD_CHUNK));
  if (!Number.isSafeInteger(chunk) || chunk < 1 || chunk > ADD_CHUNK) throw new Error(`--chunk takes an integer from 1 to ${ADD_CHUNK}`);
  if (flow !== undefined && (chunk % FLOW_JOBS !== 0 || jobs % FLOW_JOBS !== 0)) throw new Error(`--flow adds flows of ${FLOW_JOBS} jobs: --jobs and --chunk must be multiples of ${FLOW_JOBS}`);
  if (batch && values.chunk !== undefined) throw new Error('--batch adds its members 1,000 per addBulk: leave out --chunk');
  // 0: no priority option, every job on the queue's default (middle) level.
  const levels = values.levels === undefined ? 0 : Number(values.levels);
  if (values.levels !== undefined && (!Number.isSafeInteger(levels) || levels < 1 || levels > PRIORITY_LEVELS)) {
    throw new Error(`--levels takes an integer from 1 to ${PRIORITY_LEVELS}, the queue's levels`);
  }
  if (levels > 0 && (batch || flow !== undefined)) throw new Error('--levels spreads plain jobs over the levels: leave out --batch and --flow');
  return {
    jobs,
    events,
    listpackValue,
    keep: values.keep,
    phases: values.phases === true,
    singleAdds: values['single-adds'] === true,
    concurrency,
    batch,
    flow: flow as Shape | undefined,
    chunk,
    levels,
  };
}

async function waitForPing(url: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    client.on('error', () => undefined);
    try {
      await client.connect();
      await client.ping();
      await client.quit();
      return;
    } catch {
      client.disconnect();
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
  throw new Error('redis-server under valgrind did not answer within 30 s');
}

/** `2.37 (xack 1.000, fcall 0.030, ...)`: the commands of a phase per job, the most called first. */
function perJobCommands(delta: RedisDelta, jobs: number): string {
  return `${(delta.commands / jobs).toFixed(2)} (${delta.byCommand.map((c) => `${c.command} ${(c.calls / jobs).toFixed(3)}`).join(', ')})`;
}

/** `count` jobs as flows of `shape`, the `n`th flow's keys `a<n>` to `d<n>`, every job named 'email'. */
function flowJobs(shape: Shape, first: number, count: number): FlowJob<typeof PAYLOAD>[] {
  const jobs: FlowJob<typeof PAYLOAD>[] = [];
  for (let n = first; n < first + count / FLOW_JOBS; n++) {
    const key = (i: number): string => `${'abcd'[i] ?? ''}${n}`;
    SHAPES[shape].forEach((deps, i) => jobs.push({ key: key(i), name: 'email', data: PAYLOAD, ...(deps.length === 0 ? {} : { dependsOn: deps.map(key) }) }));
  }
  return jobs;
}

async function main(): Promise<void> {
  const { jobs, events, listpackValue, keep, phases, singleAdds, concurrency, batch, flow, chunk, levels } = options();
  // Job i's options: on level i mod levels with --levels, none (the middle level) without.
  const jobOpts = (i: number): { priority: number } | undefined => (levels === 0 ? undefined : { priority: i % levels });
  if (spawnSync('valgrind', ['--version'], { stdio: 'ignore' }).status !== 0) {
    throw new Error('valgrind is not on the PATH (Debian: apt-get install valgrind)');
  }
  const dir = mkdtempSync(join(tmpdir(), 'sluice-callgrind-'));
  const out = join(dir, 'callgrind.out');
  const port = await freePort();
  const url = `redis://127.0.0.1:${port}`;
  const redis = spawn('valgrind', ['--tool=callgrind', `--callgrind-out-file=${out}`, 'redis-server', '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--hash-max-listpack-value', String(listpackValue)], {
    stdio: 'ignore',
  });
  const exited = new Promise<void>((resolve) => redis.once('exit', () => resolve()));
  try {
    await waitForPing(url);
    // No reconnecting: this connection ends with the SHUTDOWN below.
    const admin = new Redis(url, { retryStrategy: () => null });
    admin.on('error', () => undefined);
    const before = await takeSnapshot(admin);
    const queue = new Queue(`instructions`, { connection: { url }, redisConfig: 'off', eventsMaxLen: events });
    let done = 0;
    const worker = new Worker('instructions', async () => 1, {
      connection: { url },
      concurrency,
      redisConfig: 'off',
      eventsMaxLen: events,
      autorun: !phases,
    });
    const finished = new Promise<void>((resolve) => {
      worker.on('completed', (job) => {
        if (job.name === 'email' && ++done === jobs) void worker.close().then(resolve);
      });
    });
    let split: { add: number; process: number; addCommands: RedisDelta; processCommands: RedisDelta } | undefined;
    const pid = redis.pid ?? 0;
    if (phases) {
      await queue.getCounts();
      await worker.store.ping();
      await dump(pid, out, 1, admin);
    }
    const beforeAdd = await takeSnapshot(admin);
    if (batch) {
      // The callback is enqueued by the last member's settle and left waiting: the run counts the members.
      const open = await queue.openBatch({ onComplete: { name: 'report', data: { run: 'instructions' } } });
      for (let i = 0; i < jobs; i += ADD_CHUNK) await open.addBulk(Array.from({ length: ADD_CHUNK }, () => ({ name: 'email', data: PAYLOAD })));
      await open.seal();
    } else if (flow !== undefined) {
      for (let i = 0; i < jobs; i += chunk) await queue.addFlow({ jobs: flowJobs(flow, i / FLOW_JOBS, Math.min(chunk, jobs - i)) });
    } else if (singleAdds) {
      for (let i = 0; i < jobs; i++) await queue.add('email', PAYLOAD, jobOpts(i));
    } else {
      for (let i = 0; i < jobs; i += chunk) {
        await queue.addBulk(Array.from({ length: Math.min(chunk, jobs - i) }, (_, k) => ({ name: 'email', data: PAYLOAD, opts: jobOpts(i + k) })));
      }
    }
    if (phases) {
      // Each snapshot before its dump, so the PINGs that wait for the dump are not counted.
      const afterAdd = await takeSnapshot(admin);
      const add = await dump(pid, out, 2, admin);
      void worker.run();
      await finished;
      const afterProcess = await takeSnapshot(admin);
      split = { add, process: await dump(pid, out, 3, admin), addCommands: diff(beforeAdd, afterAdd), processCommands: diff(afterAdd, afterProcess) };
    }
    await finished;
    await queue.close();
    const delta = diff(before, await takeSnapshot(admin));
    const version = await redisVersion(admin);
    await admin.call('SHUTDOWN', 'NOSAVE').catch(() => undefined);
    admin.disconnect();
    await exited;

    // With --phases the file of interest is the processing phase's; otherwise the whole run is in `out`.
    const profile = split === undefined ? out : `${out}.3`;
    if (keep !== undefined) copyFileSync(profile, keep);
    const total = [out, ...[1, 2, 3].map((n) => `${out}.${n}`)]
      .filter((file) => readdirSync(dir).includes(file.slice(dir.length + 1)))
      .reduce((sum, file) => sum + totalInstructions(file), 0);
    const perJob = Math.round(total / jobs);
    console.log(
      `redis-server ${version} under callgrind, ${jobs.toLocaleString('en')} ${batch ? 'members of one batch' : flow === undefined ? 'jobs' : `jobs in ${flow}s of ${FLOW_JOBS}`} ` +
        `added ${singleAdds ? 'one at a time' : `${batch ? ADD_CHUNK : chunk} per ${flow === undefined ? 'addBulk' : 'addFlow'}`} ` +
        `${levels === 0 ? '' : `on ${levels} priority level${levels === 1 ? '' : 's'} (job i on level i mod ${levels}) `}and processed at concurrency ${concurrency} (events ${events === 0 ? 'off' : 'on'}, hash-max-listpack-value ${listpackValue})`,
    );
    console.log(`instructions: ${total.toLocaleString('en')} in all, ${perJob.toLocaleString('en')} per job (server start-up included, under 1%)`);
    console.log(`Redis commands per job: ${perJobCommands(delta, jobs)}`);
    if (split !== undefined) {
      const each = (n: number): string => Math.round(n / jobs).toLocaleString('en');
      console.log(`per job: adding ${each(split.add)} (every job added first), processing ${each(split.process)} (then drained at concurrency ${concurrency})`);
      for (const [phase, delta] of [['adding', split.addCommands], ['processing', split.processCommands]] as const) {
        console.log(`Redis commands per job ${phase}: ${perJobCommands(delta, jobs)}`);
      }
    }
    const annotate = spawnSync('callgrind_annotate', ['--inclusive=yes', profile], { encoding: 'utf8' });
    if (annotate.status === 0) {
      const wanted = /xdelCommand|xtrimCommand|hsetCommand|hmgetCommand|xaddCommand|xackCommand|xreadgroup|xreadCommand|parseReply \[|printf_fp \[|lua_settable/;
      console.log(`\nwhere they went${split === undefined ? '' : ' while processing'} (inclusive, callgrind_annotate):`);
      for (const line of annotate.stdout.split('\n')) if (wanted.test(line)) console.log(`  ${line.trim()}`);
    }
    const date = new Date().toISOString();
    const file = writeRunResults({ benchmark: 'instructions', date, machine: machineAndLoad() }, [
      {
        jobs,
        events: events > 0,
        hashMaxListpackValue: listpackValue,
        singleAdds,
        concurrency,
        batch,
        flow: flow ?? null,
        priorityLevels: levels,
        jobsPerAddCall: singleAdds ? 1 : batch ? ADD_CHUNK : chunk,
        redis: version,
        sluice: packageVersion('sluice'),
        git: gitState(),
        instructions: total,
        instructionsPerJob: perJob,
        ...(split === undefined
          ? {}
          : {
              phases: {
                addPerJob: Math.round(split.add / jobs),
                processPerJob: Math.round(split.process / jobs),
                addCommandsPerJob: split.addCommands.commands / jobs,
                processCommandsPerJob: split.processCommands.commands / jobs,
              },
            }),
        commandsPerJob: delta.commands / jobs,
      },
    ]);
    console.log(`\nResults: ${file}`);
  } finally {
    if (redis.exitCode === null) redis.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});

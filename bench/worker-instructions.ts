/**
 * Node instructions per job of a worker process draining a queue, counted by valgrind's callgrind: what the
 * worker's CPU time per job cannot tell apart on a shared machine, more work or the same work done slower.
 * Jobs are added first (by this process, not counted), then a worker process under callgrind (`node
 * --single-threaded`, so V8's helper threads' work is counted too) drains them and exits. The figure is the
 * difference between a large and a small drain divided by the difference in jobs, so start-up, module loading
 * and most JIT warm-up cancel out. JIT and garbage collection timing still move it by up to a fifth from run
 * to run: compare ranges of a few runs.
 *
 *   npx tsx bench/worker-instructions.ts                          3 levels (job i on level i mod 3), concurrency 16
 *   npx tsx bench/worker-instructions.ts --levels 0 --concurrency 256 --jobs 3000,11000
 *
 * `--levels 0`: no priority option (the default level). Needs valgrind and redis-server on the PATH; about
 * 4 minutes per run on a 2-core machine. Writes bench/results/worker-instructions-<ISO date>.json.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Queue, Worker } from 'sluice';
import { spawnRedis } from '../test/harness/redis-server.js';
import { gitState, machineAndLoad } from './environment.js';
import { writeRunResults } from './results-file.js';

const SELF = fileURLToPath(import.meta.url);
const ADD_CHUNK = 1000;

/** In the child: drains `jobs` jobs of `queue` at `concurrency` with a no-op handler, then exits. */
async function drain(url: string, queue: string, concurrency: number, jobs: number): Promise<void> {
  const worker = new Worker(queue, async () => undefined, { connection: { url }, concurrency, redisConfig: 'off', autorun: false });
  let done = 0;
  await new Promise<void>((resolve) => {
    worker.on('completed', () => {
      if (++done === jobs) resolve();
    });
    // The claim loop's promise is awaited by close(), and the loop itself never rejects.
    void worker.run();
  });
  await worker.close();
}

const { values } = parseArgs({
  options: {
    levels: { type: 'string', default: '3' },
    concurrency: { type: 'string', default: '16' },
    jobs: { type: 'string', default: '3000,11000' },
    child: { type: 'string' },
  },
  strict: true,
});

if (values.child !== undefined) {
  const [url, queue, jobs] = values.child.split(',') as [string, string, string];
  await drain(url, queue, Number(values.concurrency), Number(jobs));
  process.exit(0);
}

const levels = Number(values.levels);
const concurrency = Number(values.concurrency);
const sizes = values.jobs.split(',').map(Number);
if (!Number.isSafeInteger(levels) || levels < 0 || levels > 3) throw new Error('--levels takes 0 (no priority option) to 3');
if (!Number.isSafeInteger(concurrency) || concurrency < 1) throw new Error('--concurrency takes a positive integer');
const [small, large] = sizes as [number, number];
if (sizes.length !== 2 || !sizes.every((n) => Number.isSafeInteger(n) && n > 0) || large <= small) throw new Error('--jobs takes two sizes, the smaller first');
if (spawnSync('valgrind', ['--version'], { stdio: 'ignore' }).status !== 0) throw new Error('valgrind is not on the PATH (Debian: apt-get install valgrind)');

const dir = mkdtempSync(join(tmpdir(), 'sluice-worker-callgrind-'));
const redis = await spawnRedis();
try {
  const totals: number[] = [];
  for (const jobs of sizes) {
    const queue = `drain-${jobs}`;
    const producer = new Queue(queue, { connection: { url: redis.url }, redisConfig: 'off' });
    for (let i = 0; i < jobs; i += ADD_CHUNK) {
      await producer.addBulk(
        Array.from({ length: Math.min(ADD_CHUNK, jobs - i) }, (_, k) => ({ name: 'bench', data: { i: i + k }, opts: levels === 0 ? undefined : { priority: (i + k) % levels } })),
      );
    }
    await producer.close();
    const run = spawnSync(
      'valgrind',
      ['--tool=callgrind', `--callgrind-out-file=${join(dir, `callgrind.${jobs}`)}`, 'node', '--single-threaded', '--import', 'tsx', SELF, '--concurrency', String(concurrency), '--child', `${redis.url},${queue},${jobs}`],
      { encoding: 'utf8' },
    );
    const refs = /refs:\s+([\d,]+)/.exec(run.stderr);
    if (run.status !== 0 || refs === null) throw new Error(`the worker under callgrind failed: ${run.stderr.slice(-2000)}`);
    totals.push(Number(refs[1]?.replace(/,/g, '')));
  }
  const [a, b] = totals as [number, number];
  const perJob = Math.round((b - a) / (large - small));
  console.log(
    `${levels === 0 ? 'default level' : `${levels} level${levels === 1 ? '' : 's'}`}, concurrency ${concurrency}: ${perJob.toLocaleString('en')} Node instructions per job ` +
      `(${small.toLocaleString('en')} jobs: ${a.toLocaleString('en')}, ${large.toLocaleString('en')}: ${b.toLocaleString('en')})`,
  );
  const file = writeRunResults({ benchmark: 'worker-instructions', date: new Date().toISOString(), machine: machineAndLoad() }, [
    { levels, concurrency, jobs: sizes, instructions: totals, instructionsPerJob: perJob, git: gitState() },
  ]);
  console.log(`Results: ${file}`);
} finally {
  await redis.stop();
  rmSync(dir, { recursive: true, force: true });
}

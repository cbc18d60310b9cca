/**
 * Node instructions per single add: a producer process under valgrind's callgrind (`node --predictable`, so
 * V8's helper threads' work is counted too, on the main thread) runs `await queue.add()` one job at a time, as an HTTP
 * handler does (issue 13's interactive path). The figure is the difference between a large and a small run
 * divided by the difference in adds, both after the same unmeasured warm-up, so start-up, module loading and
 * most JIT warm-up cancel out. Unlike the producer's CPU time (bench/single-add-profile.ts) it does not move
 * with the machine's load; JIT and garbage collection timing still move it by up to a tenth: compare a few runs.
 *
 *   npx tsx bench/add-instructions.ts                      8,000 unmeasured, then 2,000 and 22,000 adds
 *   npx tsx bench/add-instructions.ts --adds 2000,12000 --warm-up 8000 --runs 3
 *
 * Needs valgrind and redis-server on the PATH; about 4 minutes per run on a 2-core machine. Writes
 * bench/results/add-instructions-<ISO date>.json.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Queue } from 'sluice';
import { spawnRedis } from '../test/harness/redis-server.js';
import { gitState, machineAndLoad } from './environment.js';
import { writeRunResults } from './results-file.js';

const SELF = fileURLToPath(import.meta.url);
/**
 * V8 on one thread (its helper threads' work counted too), with its garbage collector's heap growth and
 * idle-time work fixed rather than timed. Runs of one build still spread by up to a tenth (214,700 and
 * 237,600 instructions per add; 221,000 and 244,000 with `--single-threaded` alone): compare a few runs.
 */
const NODE_FLAGS = ['--predictable', '--predictable-gc-schedule'];

/** In the child: `warmUp` adds, then `adds` more, one at a time, then exits. */
async function addOneAtATime(url: string, queue: string, warmUp: number, adds: number): Promise<void> {
  const producer = new Queue<{ to: string; n: number }>(queue, { connection: { url }, redisConfig: 'off' });
  for (let i = 0; i < warmUp + adds; i++) await producer.add('email', { to: 'a@b.c', n: i });
  await producer.close();
}

const { values } = parseArgs({
  options: {
    adds: { type: 'string', default: '2000,22000' },
    'warm-up': { type: 'string', default: '8000' },
    runs: { type: 'string', default: '1' },
    child: { type: 'string' },
  },
  strict: true,
});

if (values.child !== undefined) {
  const [url, queue, warmUp, adds] = values.child.split(',') as [string, string, string, string];
  await addOneAtATime(url, queue, Number(warmUp), Number(adds));
  process.exit(0);
}

const warmUp = Number(values['warm-up']);
const runs = Number(values.runs);
const sizes = values.adds.split(',').map(Number);
const [small, large] = sizes as [number, number];
if (sizes.length !== 2 || !sizes.every((n) => Number.isSafeInteger(n) && n > 0) || large <= small) throw new Error('--adds takes two sizes, the smaller first');
if (!Number.isSafeInteger(warmUp) || warmUp < 0) throw new Error('--warm-up takes an integer >= 0');
if (!Number.isSafeInteger(runs) || runs < 1) throw new Error('--runs takes a positive integer');
if (spawnSync('valgrind', ['--version'], { stdio: 'ignore' }).status !== 0) throw new Error('valgrind is not on the PATH (Debian: apt-get install valgrind)');

const dir = mkdtempSync(join(tmpdir(), 'sluice-add-callgrind-'));
const redis = await spawnRedis();
const machine = machineAndLoad();
try {
  const results: { adds: number[]; instructions: number[]; instructionsPerAdd: number }[] = [];
  for (let r = 0; r < runs; r++) {
    const totals: number[] = [];
    for (const adds of sizes) {
      const run = spawnSync(
        'valgrind',
        ['--tool=callgrind', `--callgrind-out-file=${join(dir, `callgrind.${r}.${adds}`)}`, 'node', ...NODE_FLAGS, '--import', 'tsx', SELF, '--child', `${redis.url},adds-${r}-${adds},${warmUp},${adds}`],
        { encoding: 'utf8' },
      );
      const refs = /refs:\s+([\d,]+)/.exec(run.stderr);
      if (run.status !== 0 || refs === null) throw new Error(`the producer under callgrind failed: ${run.stderr.slice(-2000)}`);
      totals.push(Number(refs[1]?.replace(/,/g, '')));
    }
    const [a, b] = totals as [number, number];
    const perAdd = Math.round((b - a) / (large - small));
    console.log(
      `single adds: ${perAdd.toLocaleString('en')} Node instructions per add ` +
        `(${small.toLocaleString('en')} adds: ${a.toLocaleString('en')}, ${large.toLocaleString('en')}: ${b.toLocaleString('en')}; ${warmUp.toLocaleString('en')} unmeasured before each)`,
    );
    results.push({ adds: sizes, instructions: totals, instructionsPerAdd: perAdd });
  }
  const file = writeRunResults({ benchmark: 'add-instructions', date: new Date().toISOString(), machine }, [{ warmUp, nodeFlags: NODE_FLAGS, runs: results, git: gitState() }]);
  console.log(`Results: ${file}`);
} finally {
  await redis.stop();
  rmSync(dir, { recursive: true, force: true });
}

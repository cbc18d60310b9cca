/**
 * `npx tsx examples/autoscale.ts`: the Kubernetes HPA of examples/k8s/, played on one machine.
 *
 * Starts `sluice metrics` for a fresh queue, adds a backlog of 20,000 jobs of 10 ms, and lets the
 * controller of examples/autoscale-controller.ts read the exporter every second and start or SIGTERM
 * worker processes (examples/autoscale-worker.ts) by the HPA's rule: up to 4 workers at 1,000 waiting
 * jobs per worker, back to 1 after a 3 s scale-down window. Prints every scaling step, then checks from
 * the workers' own output that each job completed exactly once. Exits 0 when it did, 1 otherwise.
 *
 * Uses REDIS_URL when set; otherwise starts a private redis-server (from PATH) and stops it at the end.
 * JOBS, MAX_REPLICAS and TARGET change the sizes.
 */
import { randomUUID } from 'node:crypto';
import { Queue } from 'sluice';
import { hasRedisServer, noRedisMessage, spawnRedis, type TestRedis } from '../test/harness/redis-server.js';
import { Autoscaler, sampleValue, scrape, startExporter } from './autoscale-controller.js';

const JOBS = Number(process.env.JOBS ?? '20000');
const MAX_REPLICAS = Number(process.env.MAX_REPLICAS ?? '4');
const TARGET = Number(process.env.TARGET ?? '1000');

async function getRedis(): Promise<TestRedis | undefined> {
  const url = process.env.REDIS_URL;
  if (url !== undefined && url !== '') return { url, kind: 'url', stop: () => Promise.resolve() };
  if (!hasRedisServer()) {
    console.error(`${noRedisMessage()}; or set REDIS_URL=redis://host:port`);
    return undefined;
  }
  return spawnRedis(['--appendonly', 'yes']);
}

async function until(check: () => boolean | Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return true;
}

async function main(): Promise<number> {
  const redis = await getRedis();
  if (redis === undefined) return 1;
  const name = `autoscale-${randomUUID().slice(0, 8)}`;
  const queue = new Queue(name, { connection: { url: redis.url } });
  const exporter = await startExporter(redis.url, [name]);
  const started = Date.now();
  const log = (line: string): void => console.log(`[${((Date.now() - started) / 1000).toFixed(1).padStart(5)} s] ${line}`);
  const autoscaler = new Autoscaler({
    queue: name,
    exporterPort: exporter.port,
    worker: { file: 'examples/autoscale-worker.ts', env: { REDIS_URL: redis.url, QUEUE: name, JOB_MS: '10', CONCURRENCY: '10' } },
    minReplicas: 1,
    maxReplicas: MAX_REPLICAS,
    target: TARGET,
    scaleDownWindowMs: 3000,
    log,
  });
  try {
    log(`exporter on port ${exporter.port}; adding ${JOBS} jobs of 10 ms to '${name}'`);
    const ids = (await queue.addBulk(Array.from({ length: JOBS }, (_, i) => ({ name: 'work', data: { i }, opts: { removeOnComplete: true } })))).map((job) => job.id);
    autoscaler.start();
    const drained = await until(() => autoscaler.ledger('done').length >= JOBS, 120_000);
    log(drained ? `all ${JOBS} jobs done` : `only ${autoscaler.ledger('done').length} of ${JOBS} jobs done after 120 s`);
    const back = drained && (await until(() => autoscaler.replicas === 1, 30_000));
    const completed = sampleValue(await scrape(exporter.port), 'sluice_queue_completed_total', { queue: name });
    const codes = await autoscaler.stop();

    const done = autoscaler.ledger('done');
    const once = done.length === JOBS && new Set(done).size === JOBS && new Set([...done, ...ids]).size === JOBS;
    console.log(`\npeak ${autoscaler.peak} workers, ${autoscaler.all.length} started, back to the minimum: ${back ? 'yes' : 'no'}`);
    console.log(`each of the ${JOBS} jobs completed exactly once (workers' own output): ${once ? 'yes' : 'no'}`);
    console.log(`sluice_queue_completed_total: ${completed}; worker exit codes: ${codes.join(' ')}`);
    return back && once && completed === JOBS && codes.every((code) => code === 0) ? 0 : 1;
  } finally {
    await autoscaler.stop();
    await exporter.stop();
    if (redis.kind === 'url') await queue.obliterate({ force: true });
    await queue.close();
    await redis.stop();
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error('autoscale failed:', error);
    process.exitCode = 1;
  },
);

/**
 * sluice's side of the rate-limit benchmark, written against the rate-limit API as planned:
 *   queue.setRateLimit({ max, duration })                      queue-wide, exact sliding window
 *   queue.setRateLimit({ max, duration, smooth: true })        queue-wide, starts spaced duration / max apart
 *   queue.setGroupLimit({ max, duration, concurrency }, group?) every group (no group given), or one
 *   job option `group: 'tenant-42'`
 * A job's admission time is job.processedOn: Redis' clock when the claim script admitted it.
 *
 * Scenarios (the parent sets the limit and adds all jobs in bulk, spread over g0..g3; then two child
 * processes each run a Worker at concurrency 16 with a no-op handler):
 *   rate-limit    setRateLimit({ max: 100, duration: 1000 })
 *   group-limit   setGroupLimit({ max: 25, duration: 1000, concurrency: 16 }): 25 per second per group,
 *                 100 per second in total. concurrency does not bind here (handlers take ~no time).
 *   smooth-limit  setRateLimit({ max: 100, duration: 1000, smooth: true }): one start every 10 ms
 *   smooth-group-limit  the group-limit scenario with smooth: true: each group one start every 40 ms
 */
import { Queue, Worker, type BulkJob } from 'sluice';
import { emit, groupOf, GROUP_LIMIT, GROUPS, QUEUE_LIMIT, readyThenGo, variants, type ChildTask, type ScenarioHooks, type ScenarioSpec } from './limits-common.js';
const WORKER_CONCURRENCY = 16;

interface JobData {
  i: number;
  g: string;
}

interface Variant {
  readonly title: string;
  readonly config: string;
  readonly scope: ScenarioSpec['scope'];
  readonly limit: ScenarioSpec['limit'];
  readonly apply: (queue: Queue<JobData, void>) => Promise<void>;
}

const VARIANTS: Readonly<Record<string, Variant>> = {
  'rate-limit': {
    title: 'setRateLimit 100 per 1 s (queue-wide)',
    config: 'queue.setRateLimit({ max: 100, duration: 1000 })',
    scope: 'queue',
    limit: QUEUE_LIMIT,
    apply: async (queue) => {
      await queue.setRateLimit({ max: 100, duration: 1000 });
    },
  },
  'group-limit': {
    title: 'setGroupLimit 25 per 1 s per group',
    config: `queue.setGroupLimit({ max: 25, duration: 1000, concurrency: ${WORKER_CONCURRENCY} })`,
    scope: 'group',
    limit: GROUP_LIMIT,
    apply: async (queue) => {
      await queue.setGroupLimit({ max: 25, duration: 1000, concurrency: WORKER_CONCURRENCY });
    },
  },
  'smooth-limit': {
    title: 'setRateLimit 100 per 1 s, smooth (queue-wide)',
    config: 'queue.setRateLimit({ max: 100, duration: 1000, smooth: true })',
    scope: 'queue',
    limit: QUEUE_LIMIT,
    apply: async (queue) => {
      await queue.setRateLimit({ max: 100, duration: 1000, smooth: true });
    },
  },
  'smooth-group-limit': {
    title: 'setGroupLimit 25 per 1 s per group, smooth',
    config: `queue.setGroupLimit({ max: 25, duration: 1000, concurrency: ${WORKER_CONCURRENCY}, smooth: true })`,
    scope: 'group',
    limit: GROUP_LIMIT,
    apply: async (queue) => {
      await queue.setGroupLimit({ max: 25, duration: 1000, concurrency: WORKER_CONCURRENCY, smooth: true });
    },
  },
};

const SLUICE_VARIANTS = variants('sluice', 'sluice', VARIANTS, (v) => ({ title: v.title, config: v.config, scope: v.scope, limit: v.limit, groups: GROUPS }));

export function sluiceSpecs(jobs: number, processes: number): { spec: ScenarioSpec; variant: string }[] {
  return SLUICE_VARIANTS.specs(jobs, processes);
}

/** Sets the limit and adds the jobs inside the measured window; the children then only process. */
export function sluiceHooks(variant: string, spec: ScenarioSpec): ScenarioHooks {
  const v = SLUICE_VARIANTS.of(variant);
  let queue: Queue<JobData, void> | undefined;
  return {
    prepare: async ({ url, name }) => {
      // The bench's Redis runs without persistence on purpose: no warning.
      queue = new Queue<JobData, void>(name, { connection: { url }, redisConfig: 'off' });
      await v.apply(queue);
      const jobs: BulkJob<JobData>[] = [];
      for (let i = 0; i < spec.jobs; i++) {
        const g = groupOf(spec.groups, i) ?? 'g0';
        jobs.push({ name: 'bench', data: { i, g }, opts: { group: g } });
      }
      await queue.addBulk(jobs);
    },
    cleanup: async () => {
      await queue?.close();
    },
  };
}

// ------------------------------------------------------------------------------------------------ child

export async function sluiceChild(task: ChildTask): Promise<void> {
  const worker = new Worker<JobData, void>(
    task.name,
    async (job) => {
      if (job.processedOn === undefined) emit.error(`job ${job.id} has no processedOn`);
      else emit.start(job.processedOn, job.data.g);
    },
    { connection: { url: task.redis.url }, redisConfig: 'off', concurrency: WORKER_CONCURRENCY, autorun: false },
  );
  worker.on('error', (error) => emit.error(error));
  worker.on('failed', (job, error) => emit.error(`job ${job.id} failed: ${error.message}`));
  try {
    await worker.store.client.ping();
    const { stop } = await readyThenGo();
    worker.run().catch((error: unknown) => emit.error(error));
    await stop;
  } finally {
    await worker.close();
  }
}

/**
 * Bottleneck's side of the rate-limit benchmark: clustered limiters (datastore 'ioredis', one id shared
 * by the child processes, the project's ioredis passed as `Redis`) configured as close to "100 per
 * second" as Bottleneck gets. It has no sliding window, so:
 *   reservoir-1s   reservoir 100, refreshed to 100 every 1,000 ms (a fixed window)
 *   reservoir-5s   reservoir 500, refreshed every 5,000 ms: the refresh interval Bottleneck's README asks
 *                  for in clustering mode ("a multiple of 250 (5000 for Clustering)"), same average rate
 *   min-time       minTime 10: one admission every 10 ms at most (spacing, no window)
 *   group-reservoir-1s / group-min-time
 *                  Bottleneck.Group, keys g0..g3, each key its own clustered limiter at 25 per second
 *                  (reservoir 25 per 1,000 ms, or minTime 40): 100 per second in total
 * The admission time of a job is Date.now() when its function starts, in the child that runs it.
 *
 * Every child schedules its share of the jobs at once, so each limiter starts with a full local queue.
 * The server is fresh for every run, so clearDatastore stays false: with Redis 7, a second limiter that
 * clears the datastore leaves the first one failing with "ERR UNKNOWN_CLIENT" for good (see
 * bench/bottleneck-redis7.ts and docs/limits-bench.md).
 */
import Bottleneck from 'bottleneck';
import { Redis } from 'ioredis';
import { emit, groupOf, GROUP_LIMIT, GROUPS, QUEUE_LIMIT, readyThenGo, share, variants, type ChildTask, type ScenarioSpec } from './limits-common.js';

interface Variant {
  readonly title: string;
  /** A Bottleneck.Group over GROUPS, each key limited to GROUP_LIMIT; otherwise one limiter for QUEUE_LIMIT. */
  readonly group: boolean;
  /** Limiter (or per-key limiter) options, clustering options aside. */
  readonly options: Bottleneck.ConstructorOptions;
}

const VARIANTS: Readonly<Record<string, Variant>> = {
  'reservoir-1s': {
    title: 'reservoir 100, refreshed every 1 s',
    group: false,
    options: { reservoir: 100, reservoirRefreshAmount: 100, reservoirRefreshInterval: 1000 },
  },
  'reservoir-5s': {
    title: 'reservoir 500, refreshed every 5 s',
    group: false,
    options: { reservoir: 500, reservoirRefreshAmount: 500, reservoirRefreshInterval: 5000 },
  },
  'min-time': {
    title: 'minTime 10 ms',
    group: false,
    options: { minTime: 10 },
  },
  'group-reservoir-1s': {
    title: 'Group: per key reservoir 25, refreshed every 1 s',
    group: true,
    options: { reservoir: 25, reservoirRefreshAmount: 25, reservoirRefreshInterval: 1000 },
  },
  'group-min-time': {
    title: 'Group: per key minTime 40 ms',
    group: true,
    options: { minTime: 40 },
  },
};

const BOTTLENECK_VARIANTS = variants('bottleneck', 'Bottleneck', VARIANTS, (v) => ({
  title: v.title,
  config: JSON.stringify({ ...(v.group ? { Group: true } : {}), ...v.options }),
  scope: v.group ? 'group' : 'queue',
  limit: v.group ? GROUP_LIMIT : QUEUE_LIMIT,
  groups: v.group ? GROUPS : [],
}));

export function bottleneckSpecs(jobs: number, processes: number): { spec: ScenarioSpec; variant: string }[] {
  return BOTTLENECK_VARIANTS.specs(jobs, processes);
}

// ------------------------------------------------------------------------------------------------ child

export async function bottleneckChild(task: ChildTask): Promise<void> {
  const v = BOTTLENECK_VARIANTS.of(task.variant);
  const clustering: Bottleneck.ConstructorOptions = {
    datastore: 'ioredis',
    clearDatastore: false,
    clientOptions: { host: task.redis.host, port: task.redis.port },
    Redis,
    id: task.name,
  };
  const onError = (error: unknown): void => emit.error(error);

  // One limiter per group key (a Group makes them on demand), or one limiter for everything.
  let limiterFor: (group: string | undefined) => Bottleneck;
  let close: () => Promise<void>;
  if (v.group) {
    const group = new Bottleneck.Group({ ...clustering, ...v.options });
    group.on('error', onError);
    const limiters = new Map<string, Bottleneck>();
    for (const key of task.groups) {
      const limiter = group.key(key);
      limiter.on('error', onError);
      limiters.set(key, limiter);
      await limiter.ready();
    }
    limiterFor = (key) => limiters.get(key ?? '') ?? group.key(key ?? '');
    close = () => group.disconnect(true);
  } else {
    const limiter = new Bottleneck({ ...clustering, ...v.options });
    limiter.on('error', onError);
    await limiter.ready();
    limiterFor = () => limiter;
    close = () => limiter.disconnect(true);
  }

  const { stop } = await readyThenGo();

  const { from, to } = share(task);
  const scheduled: Promise<void>[] = [];
  for (let i = from; i < to; i++) {
    const key = groupOf(task.groups, i);
    const run = (): Promise<void> => {
      emit.start(Date.now(), key);
      return Promise.resolve();
    };
    scheduled.push(limiterFor(key).schedule(run).catch(onError));
  }
  // Done when every job ran or was rejected; the parent may also stop us first (its deadline).
  const all = Promise.all(scheduled).then(() => emit.done());
  await Promise.race([all, stop]);
  await stop;
  await close();
}

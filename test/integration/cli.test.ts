import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Queue, UnrecoverableError, Worker } from 'sluice';
import { runCommand, runTs, type Child, type CommandRun } from '../harness/child.js';
import { freePort, spawnRedis, uniqueQueue, useRedis, type SpawnedRedis } from '../harness/redis.js';
import { waitFor } from '../harness/wait.js';

/**
 * The `sluice` command as a real process (src/cli.ts through tsx) against a real Redis: every command in
 * its table and its --json form, the exit codes, no password in any output, `sluice dashboard` over HTTP,
 * and the progress bar (absent without a terminal, drawn in a pseudo-terminal from `script`).
 */
const redis = useRedis();
const HOSTILE = '\x1b[2J\x1b]0;pwned\x07\u202eevil';

const open: Queue[] = [];
afterEach(async () => {
  for (const queue of open.splice(0)) {
    await queue.obliterate({ force: true });
    await queue.close();
  }
});

function queue(label: string): Queue {
  const made = new Queue(uniqueQueue(label), { connection: redis.connection, redisConfig: 'off' });
  open.push(made);
  return made;
}

function env(url = redis.url): NodeJS.ProcessEnv {
  return { ...process.env, REDIS_URL: url };
}

function cli(args: readonly string[], environment: NodeJS.ProcessEnv = env()): Promise<CommandRun> {
  return runCommand(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], { env: environment });
}

/** Runs `args` with --json; expects exit 0 and nothing on stderr, and returns the document. */
async function doc<T = Record<string, unknown>>(args: readonly string[]): Promise<T> {
  const run = await cli([...args, '--json']);
  expect({ args, code: run.code, stderr: run.stderr }).toEqual({ args, code: 0, stderr: '' });
  return JSON.parse(run.stdout) as T;
}

/** Runs `args`; expects exit 0 and nothing on stderr, and returns stdout. */
async function human(args: readonly string[]): Promise<string> {
  const run = await cli(args);
  expect({ args, code: run.code, stderr: run.stderr }).toEqual({ args, code: 0, stderr: '' });
  return run.stdout;
}

/** Runs jobs of `q` with `handler` until `done` holds. */
async function work(q: Queue, handler: (job: { name: string; data: unknown }) => Promise<unknown>, done: () => Promise<boolean>): Promise<void> {
  const worker = new Worker(q.name, handler, { connection: redis.connection, concurrency: 50, redisConfig: 'off' });
  try {
    await waitFor('the jobs to settle', done, 30_000);
  } finally {
    await worker.close();
  }
}

/**
 * A queue with 3 completed jobs, 2 failed ones (one in group acme, one with hostile data and reason), and
 * a delayed one, `later-1`.
 */
async function seeded(label: string): Promise<Queue> {
  const q = queue(label);
  await q.addBulk([
    ...[1, 2, 3].map((n) => ({ name: 'send', data: { n } })),
    { name: 'bounce', data: { to: HOSTILE }, opts: { jobId: 'bad-1' } },
    { name: 'bounce', data: { to: 'acme' }, opts: { jobId: 'bad-2', group: 'acme' } },
    { name: 'later', data: {}, opts: { jobId: 'later-1', delay: 3_600_000 } },
  ]);
  await work(
    q,
    async (job) => {
      if (job.name === 'bounce') throw new UnrecoverableError(`mailbox full ${HOSTILE}`);
      return { sent: true };
    },
    async () => {
      const counts = await q.getCounts();
      return counts.completed === 3 && counts.failed === 2;
    },
  );
  return q;
}

const sorted = (value: object): string[] => Object.keys(value).sort();

describe('sluice: reading', () => {
  it('queues, stats and history, as tables and as JSON', async () => {
    const q = await seeded('cli-read');
    const [table, queues, stats, statsJson] = await Promise.all([human(['queues']), doc<{ prefix: string; queues: Record<string, unknown>[] }>(['queues']), human(['stats', q.name]), doc(['stats', q.name])]);

    expect(table).toMatch(/^QUEUE\s+STATE\s+WAITING\s+ACTIVE\s+DELAYED\s+BLOCKED\s+COMPLETED\s+FAILED\s+OLDEST WAITING$/m);
    expect(table).toMatch(new RegExp(`^${q.name}\\s+running\\s+0\\s+0\\s+1\\s+0\\s+3\\s+2\\s+-$`, 'm'));
    expect(queues.prefix).toBe('sluice');
    const row = queues.queues.find((r) => r.name === q.name);
    expect(row).toEqual({ name: q.name, paused: false, counts: { waiting: 0, paused: 0, active: 0, delayed: 1, blocked: 0, completed: 3, failed: 2 }, oldestWaitingMs: null });

    expect(stats).toContain(`Queue ${q.name}: running`);
    expect(stats).toMatch(/^\s+failed\s+2$/m);
    expect(stats).toMatch(/^\s+waiting per level\s+0: 0, 1: 0, 2: 0$/m);
    expect(sorted(statsJson)).toEqual(
      ['completedTotal', 'counts', 'failedTotal', 'heldUntil', 'limited', 'limitedGroups', 'oldestWaitingMs', 'paused', 'queue', 'rateLimit', 'startedInWindow', 'waitingByLevel', 'waitingGrouped'].sort(),
    );
    expect(statsJson).toMatchObject({ queue: q.name, paused: false, completedTotal: 3, failedTotal: 2, rateLimit: null, waitingByLevel: [0, 0, 0], counts: { failed: 2, delayed: 1 } });

    const [history, historyTable] = await Promise.all([doc<{ queue: string; minutes: { minute: number; completed: number; failed: number }[] }>(['history', q.name, '--minutes', '30']), human(['history', q.name])]);
    expect(history.queue).toBe(q.name);
    expect(history.minutes).toHaveLength(30);
    expect(sorted(history.minutes[0] as object)).toEqual(['completed', 'failed', 'minute']);
    expect([history.minutes.reduce((n, m) => n + m.completed, 0), history.minutes.reduce((n, m) => n + m.failed, 0)]).toEqual([3, 2]);
    expect(historyTable).toMatch(/^MINUTE \(UTC\)\s+COMPLETED\s+FAILED$/m);
    expect(historyTable).toMatch(/^In the last 60 minutes: 3 completed, 2 failed/m);

    await q.setRateLimit({ max: 10, duration: 60_000 });
    expect(await doc(['stats', q.name])).toMatchObject({ rateLimit: { max: 10, duration: 60_000 }, startedInWindow: 0 });
  }, 90_000);

  it('jobs in a state, filtered and limited; one job with its data, reason and logs, hostile bytes escaped', async () => {
    const q = await seeded('cli-jobs');
    const [table, list, filtered, limited, page, one, oneJson] = await Promise.all([
      human(['jobs', q.name, '--state', 'failed']),
      doc<{ jobs: Record<string, unknown>[] }>(['jobs', q.name, '--state', 'failed']),
      doc(['jobs', q.name, '-s', 'failed', '--name', 'bounce', '--group', 'acme']),
      doc<{ jobs: { id: string }[] }>(['jobs', q.name, '--state', 'completed', '--limit', '2']),
      doc<{ jobs: { id: string }[] }>(['jobs', q.name, '--state', 'completed', '--limit', '2', '--offset', '2']),
      human(['job', q.name, 'bad-1']),
      doc<{ queue: string; job: Record<string, unknown> }>(['job', q.name, 'bad-1']),
    ]);

    expect(table).toMatch(/^ID\s+NAME\s+GROUP\s+ATTEMPTS\s+FAILED\s+REASON$/m);
    expect(table).toMatch(/^bad-2\s+bounce\s+acme\s+1\s/m);
    expect(table).toContain('2 failed jobs in');
    expect(list).toMatchObject({ queue: q.name, state: 'failed', total: 2, offset: 0, limit: 20, filter: { name: null, group: null }, scanned: null });
    expect(sorted(list.jobs[0] as object)).toEqual(
      ['attemptsMade', 'attemptsStarted', 'dueAt', 'failedReason', 'finishedOn', 'group', 'id', 'name', 'priority', 'processedOn', 'state', 'timestamp'].sort(),
    );
    expect(list.jobs.map((j) => j.id).sort()).toEqual(['bad-1', 'bad-2']);
    expect(filtered).toMatchObject({ total: 2, filter: { name: 'bounce', group: 'acme' }, scanned: { looked: 2, more: false }, jobs: [{ id: 'bad-2', group: 'acme' }] });
    expect(limited.jobs).toHaveLength(2);
    expect(page.jobs).toHaveLength(1);
    expect(new Set([...limited.jobs, ...page.jobs].map((j) => j.id)).size).toBe(3);

    // What a terminal would act on is printed as escapes: no ESC, BEL or bidi override reaches it.
    // eslint-disable-next-line no-control-regex -- the control characters are what is checked
    expect(one).not.toMatch(/[\x1b\x07\u202e]/);
    expect(one).toContain('Job bad-1 in');
    expect(one).toContain('mailbox full \\x1b[2J\\x1b]0;pwned\\x07\\u202eevil');
    expect(one).toMatch(/^Failed reason:$/m);
    expect(one).toMatch(/^Stack:$/m);
    expect(oneJson.queue).toBe(q.name);
    expect(oneJson.job).toMatchObject({ id: 'bad-1', name: 'bounce', state: 'failed', data: { to: HOSTILE }, returnvalue: null, traceId: null, logs: [], olderLogs: false });
    expect(oneJson.job.failedReason).toBe(`mailbox full ${HOSTILE}`);
    expect(typeof oneJson.job.stacktrace).toBe('string');

    const completed = await doc<{ job: Record<string, unknown> }>(['job', q.name, limited.jobs[0]?.id ?? '']);
    expect(completed.job).toMatchObject({ state: 'completed', returnvalue: { sent: true } });
  }, 90_000);

  it('schedules: spec, job, next run and runs', async () => {
    const q = queue('cli-schedules');
    await q.upsertSchedule('hourly', { cron: '0 * * * *' }, { name: 'digest', data: { kind: 'hourly' } });
    await q.upsertSchedule('tick', { every: 30_000 }, { name: 'tick', data: null });
    const [table, list, none] = await Promise.all([human(['schedules', q.name]), doc<{ queue: string; schedules: Record<string, unknown>[] }>(['schedules', q.name]), human(['schedules', (await seeded('cli-no-schedules')).name])]);
    expect(table).toMatch(/^ID\s+SPEC\s+JOB\s+NEXT RUN\s+RUNS$/m);
    expect(table).toMatch(/^hourly\s+cron 0 \* \* \* \* \(UTC\)\s+digest\s+\S+ \S+ UTC \(in .*\)\s+0$/m);
    expect(table).toMatch(/^tick\s+every 30s\s+tick\s/m);
    expect(list.queue).toBe(q.name);
    const hourly = list.schedules.find((s) => s.id === 'hourly');
    expect(sorted(hourly as object)).toEqual(['id', 'job', 'next', 'runs', 'spec']);
    expect(hourly).toMatchObject({ spec: { cron: '0 * * * *', tz: 'UTC' }, job: { name: 'digest', data: { kind: 'hourly' } }, runs: 0 });
    expect(typeof hourly?.next).toBe('number');
    expect(none).toMatch(/^No schedules in /);
  }, 90_000);
});

describe('sluice: acting', () => {
  it('retry, remove, promote, pause, resume and clean, each through the Queue, as text and as JSON', async () => {
    const q = await seeded('cli-act');
    expect(await human(['retry', q.name, 'bad-1'])).toBe(`Sent job bad-1 of ${q.name} back to waiting.\n`);
    expect((await q.getJob('bad-1'))?.state).toBe('waiting');
    expect(await doc(['retry', q.name, '--all-failed'])).toEqual({ queue: q.name, id: null, retried: 1 });
    expect((await q.getJob('bad-2'))?.state).toBe('waiting');

    expect(await doc(['remove', q.name, 'bad-2'])).toEqual({ queue: q.name, id: 'bad-2', removed: 1 });
    expect(await q.getJob('bad-2')).toBeUndefined();

    expect(await human(['promote', q.name, 'later-1'])).toBe(`Promoted job later-1 of ${q.name}: waiting now.\n`);
    expect((await q.getJob('later-1'))?.state).toBe('waiting');
    await q.addBulk([1, 2].map((n) => ({ name: 'later', data: n, opts: { delay: 3_600_000 } })));
    expect(await doc(['promote', q.name, '--all'])).toEqual({ queue: q.name, id: null, promoted: 2 });
    expect((await q.getCounts()).delayed).toBe(0);

    expect(await doc(['pause', q.name])).toEqual({ queue: q.name, paused: true });
    expect((await q.getMetrics()).isPaused).toBe(true);
    expect(await human(['resume', q.name])).toBe(`Resumed ${q.name}.\n`);
    expect((await q.getMetrics()).isPaused).toBe(false);

    expect(await human(['clean', q.name, '--state', 'completed', '--older-than', '1h'])).toBe(`Deleted 0 completed jobs of ${q.name} that finished more than 1h ago.\n`);
    expect(await doc(['clean', q.name, '--state', 'completed', '--older-than', '0'])).toEqual({ queue: q.name, state: 'completed', olderThanMs: 0, removed: 3 });
    expect((await q.getCounts()).completed).toBe(0);
  }, 120_000);
});

describe('sluice: labels, workers, cancel and drain', () => {
  it('jobs --label reads the index; labels and workers list what is there; job shows labels, meta and who ran it', async () => {
    const q = queue('cli-labels');
    await q.addBulk([
      { name: 'report', data: { n: 1 }, opts: { jobId: 'r-1', labels: ['tenant:acme', 'monthly'], meta: { tenant: 'acme' } } },
      { name: 'report', data: { n: 2 }, opts: { jobId: 'r-2', labels: ['tenant:globex'] } },
      { name: 'report', data: { n: 3 }, opts: { jobId: 'r-3' } },
    ]);
    const listed = await doc<{ jobs: { id: string; labels: string[] }[]; scanned: unknown; filter: unknown }>(['jobs', q.name, '--state', 'waiting', '--label', 'tenant:acme']);
    expect(listed.jobs.map((job) => [job.id, job.labels])).toEqual([['r-1', ['tenant:acme', 'monthly']]]);
    expect(listed.filter).toEqual({ name: null, group: null, label: 'tenant:acme' });
    expect(await human(['jobs', q.name, '--state', 'waiting'])).toMatch(/LABELS[\s\S]*tenant:acme,monthly/);
    const labels = await doc<{ labels: { label: string; jobs: number }[] }>(['labels', q.name]);
    expect(labels.labels.sort((a, b) => a.label.localeCompare(b.label))).toEqual([
      { label: 'monthly', jobs: 1 },
      { label: 'tenant:acme', jobs: 1 },
      { label: 'tenant:globex', jobs: 1 },
    ]);

    expect((await doc<{ workers: unknown[] }>(['workers', q.name])).workers).toEqual([]);
    const worker = new Worker(q.name, async () => 'ok', { connection: redis.connection, concurrency: 3, redisConfig: 'off', name: 'cli-test' });
    try {
      await waitFor('the jobs to complete', async () => (await q.getCounts()).completed === 3);
      const workers = await doc<{ workers: { id: string; pid: number; concurrency: number }[] }>(['workers', q.name]);
      expect(workers.workers).toHaveLength(1);
      expect(workers.workers[0]).toMatchObject({ id: worker.consumer, pid: process.pid, concurrency: 3 });
      expect(await human(['workers', q.name])).toContain('1 worker of');
    } finally {
      await worker.close();
    }
    const one = await doc<{ job: { labels: string[]; meta: unknown; processedBy: string | null } }>(['job', q.name, 'r-1']);
    expect(one.job).toMatchObject({ labels: ['tenant:acme', 'monthly'], meta: { tenant: 'acme' }, processedBy: worker.consumer });
    const shown = await human(['job', q.name, 'r-1']);
    expect(shown).toMatch(/labels\s+tenant:acme, monthly/);
    expect(shown).toContain(worker.consumer);
  }, 120_000);

  it('cancel ends a waiting job for good; drain asks for --yes, then deletes waiting and delayed jobs', async () => {
    const q = queue('cli-cancel');
    await q.addBulk([
      { name: 'a', data: {}, opts: { jobId: 'c-1' } },
      { name: 'a', data: {}, opts: { jobId: 'c-2' } },
      { name: 'a', data: {}, opts: { jobId: 'c-3', delay: 3_600_000 } },
    ]);
    expect(await doc(['cancel', q.name, 'c-1', '--reason', 'order withdrawn'])).toEqual({ queue: q.name, id: 'c-1', reason: 'order withdrawn', cancelled: 1 });
    const cancelled = await q.getJob('c-1');
    expect([cancelled?.state, cancelled?.failedReason]).toEqual(['failed', 'cancelled: order withdrawn']);
    const again = await cli(['cancel', q.name, 'c-1']);
    expect(again.code).toBe(1);

    const refused = await cli(['drain', q.name]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('--yes');
    expect((await q.getCounts()).waiting).toBe(1);
    expect(await human(['drain', q.name, '--yes'])).toBe(`Deleted 2 waiting or delayed jobs of ${q.name}.\n`);
    expect(await q.getCounts()).toMatchObject({ waiting: 0, delayed: 0, failed: 1 });
  }, 120_000);
});

describe('sluice: exit codes', () => {
  it('0 done, 1 failed (no such queue or job, wrong state, Redis unreachable), 2 bad command line', async () => {
    const q = await seeded('cli-codes');
    const closed = `redis://127.0.0.1:${await freePort()}`;
    const cases: [string[], number, RegExp, NodeJS.ProcessEnv?][] = [
      [['--help'], 0, /^$/],
      [['help', 'clean'], 0, /^$/],
      [['jobs', '--help'], 0, /^$/],
      [[], 2, /no command given/],
      [['bogus'], 2, /unknown command 'bogus'/],
      [['stats'], 2, /<queue> is missing/],
      [['jobs', q.name], 2, /--state is required/],
      [['stats', q.name, '--bogus'], 2, /no option '--bogus'/],
      [['stats', q.name, '--limit', '3'], 2, /no option '--limit'/],
      [['clean', q.name, '--state', 'completed', '--older-than', '3600'], 2, /say the unit/],
      [['retry', q.name], 2, /a job id, or --all-failed/],
      [['stats', 'a{b}'], 2, /brace/],
      [['stats', q.name, '--redis', 'localhost:6379'], 2, /redis:\/\//],
      [['stats', q.name], 2, /REDIS_URL/, { ...process.env, REDIS_URL: '' }],
      [['stats', `no-such-${q.name}`], 1, /there is no queue 'no-such-/],
      [['job', q.name, 'nope'], 1, /job 'nope' does not exist/],
      [['retry', q.name, 'later-1'], 1, /not failed or completed/],
      [['promote', q.name, 'bad-1'], 1, /is failed, not delayed/],
      [['queues'], 1, /cannot reach Redis: .*ECONNREFUSED/, env(closed)],
    ];
    const runs = await Promise.all(cases.map(([args, , , environment]) => cli(args, environment)));
    cases.forEach(([args, code, message], i) => {
      const run = runs[i] as CommandRun;
      expect({ args, code: run.code }).toEqual({ args, code });
      if (code === 0) expect(run.stdout).toMatch(/^Usage: sluice/);
      else expect(run.stderr).toMatch(message);
    });
    expect((runs[2] as CommandRun).stdout).toContain('--state <state>');

    // With --json a failure is a JSON document on stderr with a stable code, and nothing on stdout.
    const [missing, bad] = await Promise.all([cli(['job', q.name, 'nope', '--json']), cli(['jobs', q.name, '--json'])]);
    expect(missing.code).toBe(1);
    expect(missing.stdout).toBe('');
    expect(JSON.parse(missing.stderr)).toEqual({ error: { code: 'ERR_SLUICE_JOB_NOT_FOUND', message: expect.stringContaining("job 'nope'") as string } });
    expect(bad.code).toBe(2);
    expect(JSON.parse(bad.stderr)).toMatchObject({ error: { code: 'ERR_SLUICE_VALIDATION' } });
  }, 120_000);
});

describe('sluice: no password in any output', () => {
  const PASSWORD = 'correct-horse-battery-staple';
  const WRONG = 'wr0ng-pa55word-never-printed';
  let locked: SpawnedRedis;
  let name: string;

  beforeAll(async () => {
    // The password is set once the server answers: spawnRedis waits for a PING without one.
    locked = await spawnRedis();
    const admin = new Redis(locked.url);
    await admin.config('SET', 'requirepass', PASSWORD);
    admin.disconnect();
    const q = new Queue(uniqueQueue('cli-locked'), { connection: { url: `redis://:${PASSWORD}@127.0.0.1:${locked.port}` }, redisConfig: 'off' });
    await q.add('x', {}, { jobId: 'one' });
    name = q.name;
    await q.close();
  });
  afterAll(async () => {
    await locked?.stop();
  });

  const commands = (queue: string): string[][] => [
    ['queues'],
    ['stats', queue],
    ['jobs', queue, '--state', 'failed'],
    ['job', queue, 'one'],
    ['schedules', queue],
    ['retry', queue, 'one'],
    ['retry', queue, '--all-failed'],
    ['remove', queue, 'one'],
    ['promote', queue, 'one'],
    ['promote', queue, '--all'],
    ['cancel', queue, 'one'],
    ['drain', queue, '--yes'],
    ['labels', queue],
    ['workers', queue],
    ['pause', queue],
    ['resume', queue],
    ['clean', queue, '--state', 'completed', '--older-than', '1h'],
    ['dashboard', '--port', '0'],
  ];

  function leaks(run: CommandRun, port: number): string[] {
    const out = `${run.stdout}${run.stderr}`;
    return [PASSWORD, WRONG, `127.0.0.1:${port}`, `:${port}`].filter((secret) => out.includes(secret));
  }

  it('every command refused by Redis (wrong password, none) exits 1 and names neither the password nor the address', async () => {
    const port = locked.port;
    const wrong = `redis://:${WRONG}@127.0.0.1:${port}`;
    const runs: { args: string[]; run: CommandRun; expected: RegExp }[] = [];
    const all = commands(name).flatMap((args) => [
      { args: [...args, '--redis', wrong], environment: env(''), expected: /WRONGPASS/ },
      { args: [...args, '--json'], environment: env(`redis://default:${WRONG}@127.0.0.1:${port}`), expected: /WRONGPASS/ },
    ]);
    all.push({ args: ['queues'], environment: env(`redis://127.0.0.1:${port}`), expected: /NOAUTH/ });
    // Four at a time: each is a Node process with tsx on a 2-core machine.
    for (let i = 0; i < all.length; i += 4) {
      const batch = all.slice(i, i + 4);
      const done = await Promise.all(batch.map(({ args, environment }) => cli(args, environment)));
      batch.forEach(({ args, expected }, j) => runs.push({ args, run: done[j] as CommandRun, expected }));
    }
    for (const { args, run, expected } of runs) {
      expect({ args, code: run.code, leaks: leaks(run, port) }).toEqual({ args, code: 1, leaks: [] });
      expect(run.stderr).toMatch(expected);
    }
  }, 240_000);

  it('with the right password, a failure or a success names no password either', async () => {
    const right = env(`redis://:${PASSWORD}@127.0.0.1:${locked.port}`);
    const runs = await Promise.all([cli(['job', name, 'nope'], right), cli(['stats', name, '--json'], right), cli(['stats', `x${name}`, '--json'], right)]);
    expect(runs.map((run) => run.code)).toEqual([1, 0, 1]);
    for (const run of runs) expect(leaks(run, locked.port)).toEqual([]);
  }, 60_000);

  it('sluice metrics, which serves while Redis refuses it, logs why without the password', async () => {
    const child = runTs('src/cli.ts', ['metrics', '--queues', name, '--port', '0', '--json'], { REDIS_URL: `redis://:${WRONG}@127.0.0.1:${locked.port}` });
    try {
      const started = await jsonOf<{ port: number }>(child);
      const health = await fetch(`http://127.0.0.1:${started.port}/healthz`);
      expect(health.status).toBe(503);
      await fetch(`http://127.0.0.1:${started.port}/metrics`);
      await waitFor('the exporter to log the failed read', () => child.stderr.length > 0);
    } finally {
      child.process.kill('SIGTERM');
      expect(await child.exited).toBe(0);
    }
    const out = `${child.lines.join('\n')}${child.stderr}`;
    expect(out).not.toContain(WRONG);
  }, 60_000);
});

/** The JSON document a long-running command prints first, once it is whole. */
async function jsonOf<T>(child: Child): Promise<T> {
  let parsed: T | undefined;
  await waitFor(
    'the command to print its JSON document',
    () => {
      try {
        parsed = JSON.parse(child.lines.join('\n')) as T;
        return true;
      } catch {
        return false;
      }
    },
    30_000,
  );
  return parsed as T;
}

describe('sluice dashboard', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'sluice-cli-'));
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves the overview over HTTP, and nothing without the token from --auth-token-file', async () => {
    const q = await seeded('cli-dash');
    const token = 'a'.repeat(8) + '0123456789abcdef0123456789abcdef';
    const file = join(dir, 'token');
    writeFileSync(file, `${token}\n`);
    const child = runTs('src/cli.ts', ['dashboard', '--port', '0', '--json', '--auth-token-file', file], { REDIS_URL: redis.url });
    try {
      const started = await jsonOf<{ url: string; readOnly: boolean; tokenRequired: boolean }>(child);
      expect(started).toEqual({ url: expect.any(String) as string, readOnly: false, tokenRequired: true });
      expect(started.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
      expect((await fetch(started.url)).status).toBe(401);
      expect((await fetch(started.url, { headers: { authorization: 'Bearer wrong-token-of-enough-length' } })).status).toBe(401);
      const page = await fetch(started.url, { headers: { authorization: `Bearer ${token}` } });
      expect(page.status).toBe(200);
      const html = await page.text();
      expect(html).toContain('<title>Queues');
      expect(html).toContain(q.name);
      const queuePage = await fetch(`${started.url}queues/${q.name}?state=failed`, { headers: { authorization: `Bearer ${token}` } });
      expect(queuePage.status).toBe(200);
      expect(await queuePage.text()).toContain('bad-2');
    } finally {
      child.process.kill('SIGTERM');
      expect(await child.exited).toBe(0);
    }
    expect(child.stderr).toBe('');
    expect(`${child.lines.join('\n')}`).not.toContain(token);
  }, 60_000);

  it('--read-only under --base-path: pages served there, every POST refused, 404 elsewhere', async () => {
    const q = await seeded('cli-dash-ro');
    const child = runTs('src/cli.ts', ['dashboard', '-p', '0', '--read-only', '--base-path', '/admin/queues'], { REDIS_URL: redis.url });
    try {
      await waitFor('the dashboard to listen', () => child.lines.some((line) => line.startsWith('sluice dashboard: serving ')), 30_000);
      const url = /serving (\S+)/.exec(child.lines[0] ?? '')?.[1] ?? '';
      expect(child.lines[0]).toMatch(/^sluice dashboard: serving http:\/\/127\.0\.0\.1:\d+\/admin\/queues\/ \(read-only\)$/);
      expect((await fetch(url)).status).toBe(200);
      expect((await fetch(new URL('/', url))).status).toBe(404);
      const retry = await fetch(`${url}queues/${q.name}/actions/retry-failed`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: '' });
      expect(retry.status).toBe(403);
      expect((await q.getCounts()).failed).toBe(2);
    } finally {
      child.process.kill('SIGINT');
      expect(await child.exited).toBe(0);
    }
    expect(child.lines).toContain('sluice dashboard: SIGINT, closing');
  }, 60_000);
});

describe('sluice: bulk actions and the progress bar', () => {
  // util-linux `script` runs a command in a pseudo-terminal: the one way to give the CLI a TTY stderr here.
  const hasScript = spawnSync('script', ['--version'], { stdio: 'ignore' }).status === 0;

  it('retry --all-failed and promote --all over more than one step draw nothing on stderr without a terminal', async () => {
    const q = queue('cli-bulk');
    await q.addBulk(Array.from({ length: 1200 }, (_, n) => ({ name: 'doomed', data: n })));
    await work(
      q,
      async () => {
        throw new UnrecoverableError('no');
      },
      async () => (await q.getCounts()).failed === 1200,
    );
    const retried = await cli(['retry', q.name, '--all-failed']);
    expect(retried).toEqual({ code: 0, stdout: `Sent 1200 failed jobs of ${q.name} back to waiting.\n`, stderr: '' });
    await q.addBulk(Array.from({ length: 1500 }, (_, n) => ({ name: 'later', data: n, opts: { delay: 3_600_000 } })));
    const promoted = await cli(['promote', q.name, '--all']);
    expect(promoted).toEqual({ code: 0, stdout: `Promoted 1500 delayed jobs of ${q.name} to waiting.\n`, stderr: '' });
  }, 120_000);

  it("the Queue's bulk calls report each step of at most 1,000 jobs to onProgress", async () => {
    const q = queue('cli-steps');
    const steps = [1000, 2000, 2500].map((done) => ({ done, total: 2500 }));
    const fail = (): Promise<void> =>
      work(
        q,
        async () => {
          throw new UnrecoverableError('no');
        },
        async () => (await q.getCounts()).failed === 2500,
      );
    await q.addBulk(Array.from({ length: 2500 }, (_, n) => ({ name: 'x', data: n, opts: { delay: 3_600_000 } })));
    const promoted: unknown[] = [];
    expect(await q.promoteJobs({ onProgress: (p) => promoted.push(p) })).toBe(2500);
    expect(promoted).toEqual(steps);
    await fail();
    const retried: unknown[] = [];
    expect(await q.retryJobs('failed', { onProgress: (p) => retried.push(p) })).toBe(2500);
    expect(retried).toEqual(steps);
    await fail();
    const cleaned: unknown[] = [];
    expect(await q.clean('failed', 0, { onProgress: (p) => cleaned.push(p) })).toBe(2500);
    expect(cleaned).toEqual(steps);
  }, 120_000);

  it.skipIf(!hasScript)('clean draws its bar under a pseudo-terminal, and clears it before the result', async () => {
    const q = queue('cli-bar');
    // Kept whole: by default a queue keeps the newest 1,000 completed jobs.
    await q.addBulk(Array.from({ length: 2500 }, (_, n) => ({ name: 'done', data: n, opts: { removeOnComplete: false } })));
    await work(q, async () => 'ok', async () => (await q.getCounts()).completed === 2500);
    const command = `${process.execPath} --import tsx src/cli.ts clean ${q.name} --state completed --older-than 0`;
    const run = await runCommand('script', ['-qec', command, '/dev/null'], { env: env() });
    expect(run.code).toBe(0);
    // The bar: redrawn in place with \r, counting up to the total, then cleared (\r ESC[K).
    expect(run.stdout).toMatch(new RegExp(`\\rdeleting completed jobs of ${q.name}  \\[[#.]+\\]\\s+\\d+%  \\d+/2500\\x1b\\[K`));
    expect(run.stdout).toContain(`\r\x1b[KDeleted 2500 completed jobs of ${q.name}.`);
    expect((await q.getCounts()).completed).toBe(0);
  }, 120_000);
});

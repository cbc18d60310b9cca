/**
 * What one poll of the dashboard costs Redis: the commands Redis runs (INFO commandstats, commands inside
 * scripts included), the script calls among them, and Redis' CPU time, for the overview's poll with 1, 10
 * and 50 queues, a queue page's and a job page's poll, and three page views. Each figure is the mean of 20
 * requests after one warm-up, spaced past the dashboard's shared-read window. Then 50 tabs on the overview
 * of 50 queues, each polling every 2 s (the default) for 10 s: what Redis runs per second.
 *
 *   npm run bench:dashboard-poll
 *
 * Needs redis-server on the PATH. Prints a table; writes nothing.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import { Queue } from 'sluice';
import { createDashboard } from 'sluice/dashboard';
import { spawnRedis } from '../test/harness/redis-server.js';

const POLLS = 20;
const TABS = 50;
const INTERVAL_S = 2;

interface Cost {
  commands: number;
  calls: number;
  usec: number;
}

/** Calls of each command since the last CONFIG RESETSTAT, and their CPU time, without INFO and CONFIG themselves. */
async function stats(admin: Redis): Promise<{ perCommand: Map<string, { calls: number; usec: number }> }> {
  const perCommand = new Map<string, { calls: number; usec: number }>();
  for (const line of (await admin.info('commandstats')).split('\n')) {
    const match = /^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/.exec(line.trim());
    if (match === null || match[1] === 'info' || match[1] === 'config') continue;
    perCommand.set(match[1] as string, { calls: Number(match[2]), usec: Number(match[3]) });
  }
  return { perCommand };
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** The dashboard below polls every 250 ms, so polls 150 ms apart never share a read (SharedReads, 125 ms). */
const SPACING_MS = 150;

async function measure(admin: Redis, poll: () => Promise<void>): Promise<Cost> {
  await poll();
  await sleep(SPACING_MS);
  await admin.config('RESETSTAT');
  for (let i = 0; i < POLLS; i++) {
    await poll();
    await sleep(SPACING_MS);
  }
  const { perCommand } = await stats(admin);
  let commands = 0;
  let calls = 0;
  let usec = 0;
  for (const [name, s] of perCommand) {
    commands += s.calls;
    usec += s.usec;
    // A script call is one round trip; the commands it runs are counted under their own names too.
    if (name === 'fcall' || name === 'fcall_ro' || name === 'evalsha') calls += s.calls;
  }
  return { commands: commands / POLLS, calls: calls / POLLS, usec: usec / POLLS };
}

async function main(): Promise<void> {
  const redis = await spawnRedis(['--save', '', '--appendonly', 'no']);
  const admin = new Redis(redis.url);
  const connection = { url: redis.url };
  const queues: Queue[] = [];
  const dashboard = createDashboard({ connection, pollIntervalMs: 250 });
  const server = createServer(dashboard);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  // The default settings, for the tabs.
  const tabsDashboard = createDashboard({ connection });
  const tabsServer = createServer(tabsDashboard);
  await new Promise<void>((resolve) => tabsServer.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const tabsOrigin = `http://127.0.0.1:${(tabsServer.address() as AddressInfo).port}`;
  const get = async (path: string, at = origin): Promise<void> => {
    const response = await fetch(at + path);
    if (!response.ok) throw new Error(`${path}: ${response.status}`);
    await response.arrayBuffer();
  };
  const rows: string[][] = [];
  try {
    for (const count of [1, 10, 50]) {
      while (queues.length < count) {
        const queue = new Queue(`poll-${queues.length}`, { connection, redisConfig: 'off' });
        await queue.addBulk(Array.from({ length: 20 }, (_, i) => ({ name: 'j', data: { i }, opts: { priority: i % 3, ...(i % 5 === 0 ? { group: 'g' } : {}) } })));
        queues.push(queue);
      }
      const cost = await measure(admin, () => get('/api/overview'));
      rows.push([`overview poll, ${count} queue${count === 1 ? '' : 's'}`, cost.commands.toFixed(1), cost.calls.toFixed(1), cost.usec.toFixed(0)]);
    }
    const [first] = queues as [Queue];
    const queuePoll = await measure(admin, () => get(`/api/queues/${first.name}`));
    rows.push(['queue page poll', queuePoll.commands.toFixed(1), queuePoll.calls.toFixed(1), queuePoll.usec.toFixed(0)]);
    const jobPoll = await measure(admin, () => get(`/api/queues/${first.name}/jobs/1`));
    rows.push(['job page poll', jobPoll.commands.toFixed(1), jobPoll.calls.toFixed(1), jobPoll.usec.toFixed(0)]);
    const overview10 = await measure(admin, () => get('/'));
    rows.push(['overview page view, 50 queues', overview10.commands.toFixed(1), overview10.calls.toFixed(1), overview10.usec.toFixed(0)]);
    const page = await measure(admin, () => get(`/queues/${first.name}?state=waiting`));
    rows.push(['queue page view (25 jobs)', page.commands.toFixed(1), page.calls.toFixed(1), page.usec.toFixed(0)]);
    const jobView = await measure(admin, () => get(`/queues/${first.name}/jobs/1`));
    rows.push(['job page view (events timeline)', jobView.commands.toFixed(1), jobView.calls.toFixed(1), jobView.usec.toFixed(0)]);

    const widths = [34, 10, 14, 12];
    const line = (cells: string[]): string => cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i] as number) : cell.padStart(widths[i] as number))).join(' ');
    console.log(line(['per request', 'commands', 'script calls', 'Redis µs']));
    for (const row of rows) console.log(line(row));
    const overviewPoll = Number(rows[2]?.[1]);
    console.log(`\n${TABS} tabs, each polling the overview of 50 queues every ${INTERVAL_S} s, if each poll read Redis: ${((TABS / INTERVAL_S) * overviewPoll).toFixed(0)} commands/s.`);
    await get('/api/overview', tabsOrigin);
    await sleep(1100);
    await admin.config('RESETSTAT');
    const started = Date.now();
    const seconds = 10;
    await Promise.all(
      Array.from({ length: TABS }, async (_, tab) => {
        await sleep((tab * INTERVAL_S * 1000) / TABS);
        while (Date.now() - started < seconds * 1000) {
          await get('/api/overview', tabsOrigin);
          await sleep(INTERVAL_S * 1000);
        }
      }),
    );
    const elapsed = (Date.now() - started) / 1000;
    const { perCommand } = await stats(admin);
    let commands = 0;
    let usec = 0;
    for (const s of perCommand.values()) {
      commands += s.calls;
      usec += s.usec;
    }
    console.log(`Measured with shared reads, ${elapsed.toFixed(1)} s: ${(commands / elapsed).toFixed(0)} commands/s, ${(usec / elapsed / 1000).toFixed(1)} ms of Redis CPU per second.`);
  } finally {
    server.close();
    tabsServer.close();
    await dashboard.close();
    await tabsDashboard.close();
    for (const queue of queues) {
      await queue.obliterate({ force: true });
      await queue.close();
    }
    await admin.quit();
    await redis.stop();
  }
}

await main();

import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Queue, Worker } from 'sluice';
import { serveDashboard, type ServedDashboard } from '../harness/dashboard.js';
import { uniqueQueue, useRedis } from '../harness/redis.js';
import { waitFor } from '../harness/wait.js';
import { hasChromium, launch, screenshot, watch } from './chromium.js';

/**
 * The dashboard in a real browser (Debian's Chromium through playwright-core), against a real Redis with
 * real jobs run by a real Worker. Each page is opened and saved as a screenshot under
 * test-results/screenshots/ for a person to look at.
 */
const redis = useRedis();
const chromium = hasChromium();
const XSS = '<img src=x onerror=alert(1)>';
/** Would retitle the page if it ever ran: a check that needs no dialog. */
const XSS_TITLE = '<img src=x onerror="document.title=\'pwned\'">';
const SCRIPT_END = '</script><script>alert(2)</script>';

let browser: Browser | undefined;
let served: ServedDashboard | undefined;
const queues: Queue[] = [];

beforeAll(async () => {
  if (chromium) browser = await launch();
}, 30_000);
afterAll(async () => {
  await browser?.close();
});
afterEach(async () => {
  await served?.close();
  served = undefined;
  for (const queue of queues.splice(0)) {
    await queue.obliterate({ force: true });
    await queue.close();
  }
});

interface Seeded {
  queue: Queue;
  failedId: string;
  completedId: string;
  xssId: string;
}

/** A queue with a job in every state that stays put, a schedule, limits and a hostile job. */
async function seed(label: string, allow: { fail: boolean }): Promise<Seeded> {
  const queue = new Queue(uniqueQueue(label), { connection: redis.connection });
  queues.push(queue);
  await queue.setRateLimit({ max: 50, duration: 60_000 });
  await queue.setGroupLimit({ max: 1, duration: 3_600_000 });
  await queue.setGroupLimit({ concurrency: 2 }, 'tenant-big');
  await queue.upsertSchedule('nightly-report', { cron: '0 3 * * *', tz: 'Europe/Paris' }, { name: 'report', data: { kind: 'nightly' } });
  await queue.upsertSchedule('heartbeat', { every: 30_000 }, { name: 'ping', data: {} });
  const [completed, failed, xss] = await queue.addBulk([
    { name: 'send-welcome', data: { to: 'ada@example.com', template: 'welcome' } },
    { name: 'charge-card', data: { order: 1001, amount: 4200 }, opts: { attempts: 1 } },
    { name: SCRIPT_END, data: { html: XSS, title: XSS_TITLE, end: SCRIPT_END }, opts: { attempts: 1, group: XSS } },
  ]);
  const worker = new Worker(
    queue.name,
    async (job) => {
      await job.log(`started ${job.name}`);
      await job.updateProgress({ step: 1, of: 2 });
      if (job.name !== 'send-welcome' && allow.fail) throw new Error(`card declined for ${JSON.stringify(job.data)}`);
      return { sent: true, id: job.id };
    },
    { connection: redis.connection },
  );
  await waitFor('seeded jobs settled', async () => {
    const counts = await queue.getCounts();
    return counts.completed === 1 && counts.failed === 2;
  });
  await worker.close();
  await queue.addBulk([
    { name: 'reminder', data: { to: 'bob@example.com' }, opts: { delay: 3_600_000 } },
    ...Array.from({ length: 4 }, (_, i) => ({ name: 'sync', data: { tenant: 'acme', i }, opts: { group: 'tenant-acme', priority: i % 3 } })),
    { name: 'big-report', data: { rows: 'x'.repeat(200_000) } },
  ]);
  return { queue, failedId: (failed as { id: string }).id, completedId: (completed as { id: string }).id, xssId: (xss as { id: string }).id };
}

async function page(): Promise<Page> {
  if (browser === undefined) throw new Error('no browser');
  return browser.newPage({ viewport: { width: 1280, height: 860 } });
}

/** Waits until the page's script has polled the JSON endpoint at least once. */
async function polled(p: Page): Promise<void> {
  await p.waitForSelector('#live.ok', { timeout: 10_000 });
}

describe.skipIf(!chromium)('the dashboard in Chromium', () => {
  it('opens each page, polls for live counts, and saves a screenshot of each', async () => {
    const { queue, failedId } = await seed('pages', { fail: true });
    served = await serveDashboard({ connection: redis.connection, pollIntervalMs: 250, traceUrl: 'http://localhost:16686/trace/{traceId}' });
    const p = await page();
    const seen = watch(p);
    const q = `${served.origin}/queues/${encodeURIComponent(queue.name)}`;
    const pages: [string, string, string][] = [
      ['overview', `${served.origin}/`, 'Queues'],
      ['queue-failed', `${q}?state=failed`, queue.name],
      ['queue-waiting', `${q}?state=waiting`, queue.name],
      ['job-failed', `${q}/jobs/${failedId}`, `Job ${failedId}`],
      ['schedules', `${q}/schedules`, queue.name],
      ['groups', `${q}/groups`, queue.name],
    ];
    for (const [name, url, heading] of pages) {
      const response = await p.goto(url);
      expect(response?.status(), name).toBe(200);
      expect(await p.textContent('h1'), name).toContain(heading);
      if (name !== 'schedules' && name !== 'groups') await polled(p);
      await screenshot(p, name);
    }
    // The per-minute charts: the seeded jobs (1 completed, 2 failed) as bars, on the overview and the queue page.
    await p.goto(`${served.origin}/`);
    const row = p.locator('tr', { has: p.locator(`a:text-is("${queue.name}")`) });
    expect(await row.locator('svg.history.small').getAttribute('aria-label')).toBe('last 3 h: 1 completed, 2 failed');
    expect(await row.locator('svg.history.small rect.c').count()).toBeGreaterThan(0);
    expect(await row.locator('svg.history.small rect.f').count()).toBeGreaterThan(0);
    await p.goto(`${q}?state=failed`);
    expect(await p.locator('svg.history.large').getAttribute('aria-label')).toBe('last 3 h: 1 completed, 2 failed');
    expect(await p.locator('svg.history.large rect.f').count()).toBeGreaterThan(0);
    expect(await p.textContent('figure.chart figcaption')).toContain('busiest minute: ');
    // A count changes while the overview is open: the cell follows without a reload.
    await p.goto(`${served.origin}/`);
    await polled(p);
    const cell = `[data-live="q:${queue.name}:waiting"]`;
    const before = Number(await p.textContent(cell));
    await queue.add('late-arrival', {});
    // A selector, not a predicate string: the page's CSP refuses eval, which waitForFunction(string) needs.
    await p.waitForSelector(`${cell}:text-is("${before + 1}")`, { timeout: 10_000 });
    // A queue created after the page was read is announced.
    const newcomer = new Queue(uniqueQueue('newcomer'), { connection: redis.connection });
    queues.push(newcomer);
    await newcomer.add('x', {});
    await p.waitForSelector('#new-queues:not([hidden])', { timeout: 10_000 });
    expect(seen).toEqual({ dialogs: [], errors: [] });
    await p.close();
  });

  it('retries a failed job with one click, and the page follows it until it completes', async () => {
    const allow = { fail: true };
    const { queue, failedId } = await seed('retry', allow);
    served = await serveDashboard({ connection: redis.connection, pollIntervalMs: 250 });
    allow.fail = false;
    const worker = new Worker(queue.name, async (job) => ({ charged: (job.data as { amount?: number }).amount ?? 0 }), { connection: redis.connection });
    try {
      const p = await page();
      const seen = watch(p);
      await p.goto(`${served.origin}/queues/${encodeURIComponent(queue.name)}/jobs/${failedId}`);
      expect(await p.textContent('h1 .badge')).toBe('failed');
      await p.click('#retry');
      // The action redirects back to the job; the page reloads itself when the job's state changes.
      await p.waitForSelector('h1 .badge.state-completed', { timeout: 15_000 });
      expect(await p.textContent('#return pre')).toContain('"charged": 4200');
      expect((await queue.getJob(failedId))?.state).toBe('completed');
      // The job's events, oldest first: its first attempt, the retry, the second attempt.
      const events = await p.locator('#timeline ol.timeline li .badge').allTextContents();
      expect(events).toEqual(['added', 'active', 'progress', 'failed', 'waiting', 'active', 'completed']);
      expect(await p.textContent('#timeline li:nth-child(4) .detail')).toContain('card declined for');
      expect(await p.textContent('#timeline li:last-child .detail')).toBe('returned {"charged":4200}');
      expect(await p.locator('#timeline p.cut').count()).toBe(0);
      await screenshot(p, 'job-retried-completed');
      expect(seen).toEqual({ dialogs: [], errors: [] });
      await p.close();
    } finally {
      await worker.close();
    }
  });

  it('asks before a destructive bulk action, then does it: clean failed jobs', async () => {
    const { queue } = await seed('clean', { fail: true });
    served = await serveDashboard({ connection: redis.connection });
    const p = await page();
    const asked: string[] = [];
    p.on('dialog', (dialog) => {
      asked.push(dialog.message());
      void dialog.accept();
    });
    await p.goto(`${served.origin}/queues/${encodeURIComponent(queue.name)}?state=failed`);
    await p.selectOption('select[name=state]', 'failed');
    await p.selectOption('select[name=age]', '0');
    await p.click('#clean');
    await p.waitForSelector('.flash.ok');
    expect(await p.textContent('.flash.ok')).toBe('Deleted 2 jobs.');
    expect(asked).toEqual(['Delete these jobs for good?']);
    expect((await queue.getCounts()).failed).toBe(0);
    await p.close();
  });

  it('read-only mode shows no action and refuses a forged POST with 403', async () => {
    const { queue, failedId } = await seed('readonly', { fail: true });
    served = await serveDashboard({ connection: redis.connection, readOnly: true });
    const p = await page();
    const q = `${served.origin}/queues/${encodeURIComponent(queue.name)}`;
    for (const url of [`${q}?state=failed`, `${q}/jobs/${failedId}`, `${q}/schedules`]) {
      await p.goto(url);
      expect(await p.locator('form[method=post]').count(), url).toBe(0);
      expect(await p.locator('button', { hasText: /retry|remove|pause|clean|promote|run now|cancel/i }).count(), url).toBe(0);
      expect(await p.textContent('.badge.ro')).toBe('read-only');
    }
    await screenshot(p, 'job-read-only');
    // A POST forged from the page itself: same origin, the browser's cookies, a made-up token.
    const status = await p.evaluate(async (url) => {
      const response = await fetch(url, { method: 'POST', body: new URLSearchParams({ _csrf: 'forged' }) });
      return response.status;
    }, `${q}/jobs/${failedId}/actions/retry`);
    expect(status).toBe(403);
    expect((await queue.getJob(failedId))?.state).toBe('failed');
    const waiting = (await queue.getCounts()).waiting;
    const run = await p.evaluate(async (url) => (await fetch(url, { method: 'POST', body: new URLSearchParams({ _csrf: 'forged' }) })).status, `${q}/schedules/heartbeat/actions/run`);
    expect(run).toBe(403);
    const [delayed] = await queue.getJobs('delayed');
    const cancel = await p.evaluate(async (url) => (await fetch(url, { method: 'POST', body: new URLSearchParams({ _csrf: 'forged' }) })).status, `${q}/jobs/${delayed?.id}/actions/cancel`);
    expect(cancel).toBe(403);
    expect((await queue.getJob(delayed?.id as string))?.state).toBe('delayed');
    expect((await queue.getCounts()).waiting).toBe(waiting);
    await p.close();
  });

  it('shows the XSS payload as text and runs none of it', async () => {
    const { queue, xssId } = await seed('xss', { fail: true });
    served = await serveDashboard({ connection: redis.connection, pollIntervalMs: 250 });
    const p = await page();
    const seen = watch(p);
    const q = `${served.origin}/queues/${encodeURIComponent(queue.name)}`;
    for (const url of [`${served.origin}/`, `${q}?state=failed`, `${q}?state=failed&group=${encodeURIComponent(XSS)}`, `${q}/jobs/${xssId}`]) {
      await p.goto(url);
      await polled(p);
      expect(await p.locator('img').count(), url).toBe(0);
      expect(await p.locator('script').count(), url).toBe(1);
      expect(await p.title(), url).not.toBe('pwned');
    }
    const data = await p.textContent('#data pre');
    expect(data).toContain(`"html": "${XSS}"`);
    expect(data).toContain(`"end": "${SCRIPT_END}"`);
    expect(await p.textContent('h1 ~ dl.facts')).toContain(XSS);
    expect(await p.textContent('#reason pre')).toContain(SCRIPT_END);
    await screenshot(p, 'job-xss-as-text');
    expect(seen).toEqual({ dialogs: [], errors: [] });
    await p.close();
  });

  it("runs a schedule now from its page: the job is added and shown, the schedule's next run stays", async () => {
    const { queue } = await seed('run-now', { fail: true });
    served = await serveDashboard({ connection: redis.connection, pollIntervalMs: 250 });
    const before = (await queue.getSchedules()).find((s) => s.id === 'heartbeat');
    const p = await page();
    const seen = watch(p);
    await p.goto(`${served.origin}/queues/${encodeURIComponent(queue.name)}/schedules`);
    await p.locator('tr', { has: p.locator('code:text-is("heartbeat")') }).locator('button', { hasText: 'Run now' }).click();
    // The action leads to the job it added.
    await p.waitForSelector('.flash.ok');
    const heading = await p.textContent('h1 code');
    expect(heading).toMatch(/^heartbeat:now:\d+$/);
    const job = await queue.getJob(heading as string);
    expect(job?.name).toBe('ping');
    expect(await p.locator('#timeline .badge', { hasText: 'added' }).count()).toBe(1);
    await screenshot(p, 'schedule-run-now');
    const after = (await queue.getSchedules()).find((s) => s.id === 'heartbeat');
    expect(after?.next?.getTime()).toBe(before?.next?.getTime());
    expect(after?.runs).toBe(before?.runs);
    expect(seen).toEqual({ dialogs: [], errors: [] });
    await p.close();
  });

  it('refuses a POST without the CSRF token, even from the page with its cookies', async () => {
    const { queue } = await seed('csrf', { fail: true });
    served = await serveDashboard({ connection: redis.connection });
    const p = await page();
    const q = `${served.origin}/queues/${encodeURIComponent(queue.name)}`;
    await p.goto(q);
    const status = await p.evaluate(async (url) => (await fetch(url, { method: 'POST', body: new URLSearchParams({}) })).status, `${q}/actions/pause`);
    expect(status).toBe(403);
    expect((await queue.getMetrics()).isPaused).toBe(false);
    // The page's own form carries the token and goes through.
    await p.click('#pause');
    await p.waitForSelector('.flash.ok');
    expect((await queue.getMetrics()).isPaused).toBe(true);
    await p.close();
  });

  it('filters a queue by label, shows labels in lists and on the job page, and cancels a running job', async () => {
    const queue = new Queue(uniqueQueue('labels'), { connection: redis.connection });
    queues.push(queue);
    const aborted: unknown[] = [];
    const worker = new Worker(
      queue.name,
      (_job, ctx) =>
        new Promise((_resolve, reject) => {
          ctx.signal.addEventListener('abort', () => {
            aborted.push(ctx.signal.reason);
            reject(ctx.signal.reason as Error);
          });
        }),
      { connection: redis.connection },
    );
    try {
      const running = await queue.add('long-export', { rows: 1e6 }, { labels: ['tenant:acme', 'vip'] });
      await waitFor('the export running', async () => (await queue.getJob(running.id))?.state === 'active');
      // The worker runs one job at a time: these wait.
      await queue.addBulk([
        { name: 'invoice', data: { n: 1 }, opts: { labels: ['tenant:acme'], delay: 3_600_000 } },
        { name: 'invoice', data: { n: 2 }, opts: { labels: ['tenant:globex'], delay: 3_600_000 } },
        { name: 'invoice', data: { n: 3 }, opts: { delay: 3_600_000 } },
      ]);
      served = await serveDashboard({ connection: redis.connection, pollIntervalMs: 250 });
      const p = await page();
      const asked: string[] = [];
      p.on('dialog', (dialog) => {
        asked.push(dialog.message());
        void dialog.accept();
      });
      const q = `${served.origin}/queues/${encodeURIComponent(queue.name)}`;
      await p.goto(`${q}?state=delayed`);
      expect(await p.locator('table.jobs tbody tr').count()).toBe(3);
      expect((await p.locator('table.jobs .label').allTextContents()).sort()).toEqual(['tenant:acme', 'tenant:globex']);
      // The label field offers the labels in use.
      expect((await Promise.all((await p.locator('#labels-in-use option').all()).map((o) => o.getAttribute('value')))).sort()).toEqual([
        'tenant:acme',
        'tenant:globex',
        'vip',
      ]);
      await p.fill('input[name=label]', 'tenant:acme');
      await p.click('form.filter button[type=submit]');
      await p.waitForURL(/label=tenant%3Aacme/);
      expect(await p.locator('table.jobs tbody tr').count()).toBe(1);
      expect(await p.textContent('table.jobs tbody tr td:nth-child(2)')).toContain('invoice');
      await screenshot(p, 'queue-label-filter');
      await p.goto(`${q}?state=active&label=vip`);
      expect(await p.locator('table.jobs tbody tr').count()).toBe(1);

      // The running job's page: its labels, and Cancel.
      await p.click(`a:text-is("${running.id}")`);
      expect(await p.locator('dl.facts .label').allTextContents()).toEqual(['tenant:acme', 'vip']);
      await p.click('#cancel');
      await p.waitForSelector('.flash.ok');
      expect(await p.textContent('.flash.ok')).toContain('Cancelled');
      expect(asked).toHaveLength(1);
      expect(asked[0]).toContain('its handler is told to stop');
      expect(await p.textContent('h1 .badge')).toBe('failed');
      expect(await p.locator('#cancel').count()).toBe(0);
      await screenshot(p, 'job-cancelled-labels');
      await p.close();
      // The handler's signal aborted, and the failed job is found under its labels.
      await waitFor('the handler told to stop', () => aborted.length === 1);
      expect((await queue.getJobs('failed', { label: 'vip' })).map((job) => job.name)).toEqual(['long-export']);
    } finally {
      await worker.close();
    }
  });
});

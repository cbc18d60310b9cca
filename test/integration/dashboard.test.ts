import { trace } from '@opentelemetry/api';
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { Queue, ValidationError, Worker } from 'sluice';
import { createDashboard } from 'sluice/dashboard';
import { serve as serveExpress } from '../../examples/dashboard-express.js';
import { FormClient, serveDashboard, type ServedDashboard } from '../harness/dashboard.js';
import { uniqueQueue, useRedis } from '../harness/redis.js';
import { sleep, waitFor } from '../harness/wait.js';

/**
 * The dashboard over HTTP, without a browser: its security model (token, authorize, read-only, CSRF,
 * Origin, escaping, CSP, size caps) and each action, through the same Queue methods as the API.
 * test/browser/ drives it in Chromium.
 */
const redis = useRedis();
const XSS = '<img src=x onerror=alert(1)>';
const SCRIPT_END = '</script><script>alert(2)</script>';

let served: ServedDashboard | undefined;
const open: Queue[] = [];
afterEach(async () => {
  await served?.close();
  served = undefined;
  for (const queue of open.splice(0)) {
    await queue.obliterate({ force: true });
    await queue.close();
  }
});

async function dashboard(options: Omit<Parameters<typeof serveDashboard>[0], 'connection'> = {}): Promise<FormClient> {
  served = await serveDashboard({ connection: redis.connection, ...options });
  return new FormClient(served.origin);
}

function queue(label: string): Queue {
  const made = new Queue(uniqueQueue(label), { connection: redis.connection });
  open.push(made);
  return made;
}

/** Runs jobs until `done` holds: a handler that fails the jobs whose data says so. */
async function runJobs(q: Queue, done: () => Promise<boolean>): Promise<void> {
  const worker = new Worker(
    q.name,
    async (job) => {
      await job.log(`working on ${job.name}`);
      if ((job.data as { fail?: unknown } | undefined)?.fail !== undefined) throw new Error(String((job.data as { fail: unknown }).fail));
      return { ok: job.name };
    },
    { connection: redis.connection },
  );
  try {
    await waitFor('jobs settled', done);
  } finally {
    await worker.close();
  }
}

describe('pages', () => {
  it('serves every page with a strict Content-Security-Policy and lists a queue created after it started', async () => {
    const client = await dashboard();
    const home = await client.get('/');
    expect(home.status).toBe(200);
    const csp = home.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("default-src 'none'");
    expect(csp).not.toContain('unsafe-inline');
    expect(home.headers.get('x-frame-options')).toBe('DENY');
    expect(home.headers.get('cache-control')).toBe('no-store');
    const q = queue('pages');
    await q.add('hello', { to: 'x' });
    await q.upsertSchedule('nightly', { cron: '0 3 * * *' }, { name: 'report', data: {} });
    const overview = await client.get('/');
    expect(overview.text).toContain(`/queues/${q.name}`);
    const json = JSON.parse((await client.get('/api/overview')).text) as { names: string[]; cells: Record<string, string> };
    expect(json.names).toContain(q.name);
    expect(json.cells[`q:${q.name}:waiting`]).toBe('1');
    for (const path of [`/queues/${q.name}?state=waiting`, `/queues/${q.name}/jobs/1`, `/queues/${q.name}/schedules`, `/queues/${q.name}/groups`]) {
      const page = await client.get(path);
      expect(page.status, path).toBe(200);
      expect(page.headers.get('content-security-policy')).toBe(csp);
    }
    expect((await client.get(`/queues/${q.name}/schedules`)).text).toContain('cron 0 3 * * *');
    expect((await client.get('/queues/no-such-queue')).status).toBe(404);
    expect((await client.get(`/queues/${q.name}/jobs/404`)).status).toBe(404);
    expect((await client.get('/assets/dashboard.js')).headers.get('content-type')).toContain('text/javascript');
    // Search by id: found jobs redirect to their page; an unknown id says so, as text.
    expect((await client.get(`/queues/${q.name}?id=1`)).headers.get('location')).toBe(`/queues/${q.name}/jobs/1`);
    expect((await client.get(`/queues/${q.name}?id=${encodeURIComponent(XSS)}`)).text).toContain('No job with id &quot;&lt;img src=x onerror=alert(1)&gt;&quot;');
  });

  it('shows hostile job values as text: names, data, groups, reasons, stacks and logs are escaped', async () => {
    const client = await dashboard();
    const q = queue('xss');
    const job = await q.add(SCRIPT_END, { fail: `${XSS}${SCRIPT_END}` }, { attempts: 1, group: XSS });
    await runJobs(q, async () => (await q.getCounts()).failed === 1);
    for (const path of ['/', `/queues/${q.name}?state=failed`, `/queues/${q.name}?state=failed&group=${encodeURIComponent(XSS)}`, `/queues/${q.name}/jobs/${job.id}`]) {
      const page = (await client.get(path)).text;
      expect(page, path).not.toContain('<img');
      // The page's own script tag, and no other.
      expect(page.match(/<script/g), path).toHaveLength(1);
    }
    const page = (await client.get(`/queues/${q.name}/jobs/${job.id}`)).text;
    expect(page).toContain('&lt;img src=x onerror=alert(1)&gt;&lt;/script&gt;&lt;script&gt;alert(2)&lt;/script&gt;');
    expect(page).toContain('working on &lt;/script&gt;&lt;script&gt;alert(2)&lt;/script&gt;');
    expect(page).toContain(`<dd>${'&lt;img src=x onerror=alert(1)&gt;'}</dd>`);
  });

  it('cuts large values for display and says how large they were', async () => {
    const client = await dashboard();
    const q = queue('large');
    const job = await q.add('big', { blob: 'x'.repeat(300_000) });
    const page = await client.get(`/queues/${q.name}/jobs/${job.id}`);
    expect(page.text).toContain('Cut for display: the first 64.0 KiB of 293.0 KiB');
    expect(page.text.length).toBeLessThan(90_000);
    const list = await client.get(`/queues/${q.name}?state=waiting`);
    expect(list.text.length).toBeLessThan(20_000);
  });

  it('filters by name and group, and pages through a state', async () => {
    const client = await dashboard();
    const q = queue('filter');
    await q.addBulk(Array.from({ length: 60 }, (_, i) => ({ name: i % 3 === 0 ? 'invoice' : 'email', data: { i }, opts: { delay: 60_000 + i, ...(i % 2 === 0 ? { group: 'acme' } : {}) } })));
    const ids = (text: string): string[] => [...text.matchAll(/\/jobs\/(\d+)">/g)].map((m) => m[1] as string);
    expect(ids((await client.get(`/queues/${q.name}?state=delayed`)).text)).toHaveLength(25);
    const third = await client.get(`/queues/${q.name}?state=delayed&page=3`);
    expect(ids(third.text)).toHaveLength(10);
    expect(third.text).toContain('51–60 of 60');
    const invoices = await client.get(`/queues/${q.name}?state=delayed&name=invoice`);
    expect(ids(invoices.text)).toHaveLength(20);
    const acmeInvoices = await client.get(`/queues/${q.name}?state=delayed&name=invoice&group=acme`);
    expect(ids(acmeInvoices.text)).toHaveLength(10);
    expect(acmeInvoices.text).toContain('of 10 matching (looked through 60 delayed jobs)');
  });

  it("lists the queue's live workers, and shows who ran a job and its meta", async () => {
    const q = queue('dash-workers');
    const worker = new Worker(q.name, async () => 'done', { connection: redis.connection, concurrency: 4, name: 'dash-test' });
    try {
      const job = await q.add('work', {}, { meta: { tenant: 'acme' } });
      await waitFor('the job to complete', async () => (await q.getJob(job.id))?.state === 'completed');
      const client = await dashboard();
      const page = await client.get(`/queues/${q.name}`);
      expect(page.status).toBe(200);
      expect(page.text).toContain(worker.consumer);
      expect(page.text).toMatch(/0 \/ 4/);
      const jobPage = await client.get(`/queues/${q.name}/jobs/${job.id}`);
      expect(jobPage.text).toContain(`<code>${worker.consumer}</code>`);
      expect(jobPage.text).toContain('acme');
    } finally {
      await worker.close();
    }
    const client = new FormClient(served!.origin);
    expect((await client.get(`/queues/${q.name}`)).text).toContain('No worker is alive');
  });

  it("links a job's trace id through the traceUrl template", async () => {
    // A tracer provider makes add() store the producer span's context with the job (telemetry/tracing.ts).
    trace.setGlobalTracerProvider(new BasicTracerProvider());
    try {
      const client = await dashboard({ traceUrl: 'http://localhost:16686/trace/{traceId}' });
      const q = queue('trace');
      const job = await q.add('traced', {});
      const page = (await client.get(`/queues/${q.name}/jobs/${job.id}`)).text;
      const traceId = /trace\/([0-9a-f]{32})" rel="noreferrer noopener"/.exec(page)?.[1];
      expect(traceId).toBeDefined();
      expect(page).toContain(`<code>${traceId}</code>`);
    } finally {
      trace.disable();
    }
  });

  it('refuses a traceUrl that is not http(s), and a short token', () => {
    expect(() => createDashboard({ connection: redis.connection, traceUrl: 'javascript:alert(1)//{traceId}' })).toThrow(ValidationError);
    expect(() => createDashboard({ connection: redis.connection, traceUrl: 'http://jaeger/trace/' })).toThrow('with {traceId} in it');
    expect(() => createDashboard({ connection: redis.connection, token: 'short' })).toThrow('at least 16 characters');
  });
});

describe('the security model', () => {
  it('with a token, serves nothing (assets included) without it; ?token= once sets a cookie and leaves the address', async () => {
    const token = 'a'.repeat(8) + 'secret-token-0123';
    const client = await dashboard({ token });
    for (const path of ['/', '/api/overview', '/assets/dashboard.css', '/queues/x']) {
      const refused = await client.get(path);
      expect(refused.status, path).toBe(401);
      expect(refused.text).not.toContain('queues/');
    }
    expect((await client.get('/?token=wrong-token-wrong-token')).status).toBe(401);
    const entry = await client.get(`/?token=${token}&x=1`);
    expect(entry.status).toBe(303);
    expect(entry.headers.get('location')).toBe('/?x=1');
    expect(client.cookies.get('sluice_token')).toBe(token);
    expect((await client.get('/')).status).toBe(200);
    const bearer = await fetch(`${client.origin}/api/overview`, { headers: { authorization: `Bearer ${token}` } });
    expect(bearer.status).toBe(200);
  });

  it('asks authorize(req) on every request and serves nothing it refuses', async () => {
    const seen: string[] = [];
    const client = await dashboard({ authorize: async (req) => {
      seen.push(req.url ?? '');
      return req.headers['x-user'] === 'ops';
    } });
    expect((await client.get('/')).status).toBe(403);
    expect((await client.get('/assets/dashboard.js')).status).toBe(403);
    expect((await client.post('/queues/x/actions/pause')).status).toBe(403);
    expect((await client.get('/', { 'x-user': 'ops' })).status).toBe(200);
    expect(seen).toEqual(['/', '/assets/dashboard.js', '/queues/x/actions/pause', '/']);
  });

  it('read-only hides every action and refuses every POST, even one with a valid token and cookie', async () => {
    const writable = await dashboard();
    const q = queue('ro');
    await q.add('a', { fail: 'no' }, { attempts: 1 });
    await runJobs(q, async () => (await q.getCounts()).failed === 1);
    await writable.get(`/queues/${q.name}?state=failed`);
    const { csrf, cookies } = writable;
    await served?.close();
    const client = await dashboard({ readOnly: true });
    client.csrf = csrf;
    for (const [k, v] of cookies) client.cookies.set(k, v);
    for (const path of [`/queues/${q.name}?state=failed`, `/queues/${q.name}/jobs/1`, `/queues/${q.name}/schedules`]) {
      const page = await client.get(path);
      expect(page.text, path).not.toContain('method="post"');
      expect(page.text).toContain('read-only');
    }
    for (const path of [`/queues/${q.name}/actions/retry-failed`, `/queues/${q.name}/jobs/1/actions/remove`, `/queues/${q.name}/actions/pause`]) {
      expect((await client.post(path, {}, { csrf })).status, path).toBe(403);
    }
    expect(await q.getCounts()).toMatchObject({ failed: 1, paused: 0 });
  });

  it('refuses a POST without the CSRF token, with a token of another cookie, or from another Origin', async () => {
    const client = await dashboard();
    const q = queue('csrf');
    await q.add('a', {});
    await client.get(`/queues/${q.name}`);
    const path = `/queues/${q.name}/actions/pause`;
    expect((await client.post(path, {}, { csrf: null })).status).toBe(403);
    expect((await client.post(path, {}, { csrf: 'forged' })).status).toBe(403);
    expect((await client.post(path, {}, { origin: 'http://evil.example' })).status).toBe(403);
    expect((await client.post(path, {}, { origin: 'null' })).status).toBe(403);
    const stranger = new FormClient(client.origin);
    await stranger.get('/');
    expect((await stranger.post(path, {}, { csrf: client.csrf })).status).toBe(403);
    expect((await q.getMetrics()).isPaused).toBe(false);
    // The same form from the page itself goes through.
    const ok = await client.post(path);
    expect(ok.status).toBe(303);
    expect((await q.getMetrics()).isPaused).toBe(true);
  });
});

describe('actions, each through the Queue API', () => {
  it('pause, resume, retry all failed, promote all delayed and clean', async () => {
    const client = await dashboard();
    const q = queue('bulk');
    const base = `/queues/${q.name}`;
    await q.addBulk([{ name: 'f1', data: { fail: 'x' }, opts: { attempts: 1 } }, { name: 'f2', data: { fail: 'y' }, opts: { attempts: 1 } }]);
    await runJobs(q, async () => (await q.getCounts()).failed === 2);
    await client.get(base);
    expect(await client.post(`${base}/actions/pause`)).toMatchObject({ status: 303, location: `${base}?done=paused` });
    expect((await client.get(`${base}?done=paused`)).text).toContain('Paused: workers take no new jobs.');
    expect(await client.post(`${base}/actions/retry-failed`)).toMatchObject({ location: `${base}?done=retried-all&n=2` });
    expect(await q.getCounts()).toMatchObject({ failed: 0, paused: 2 });
    expect(await client.post(`${base}/actions/resume`)).toMatchObject({ location: `${base}?done=resumed` });
    await q.addBulk([{ name: 'd', data: {}, opts: { delay: 600_000 } }, { name: 'd', data: {}, opts: { delay: 600_000 } }]);
    expect(await client.post(`${base}/actions/promote-delayed`)).toMatchObject({ location: `${base}?done=promoted-all&n=2` });
    // The retried jobs fail again (their data says so); the promoted ones complete.
    await runJobs(q, async () => {
      const counts = await q.getCounts();
      return counts.completed === 2 && counts.failed === 2;
    });
    expect(await client.post(`${base}/actions/clean`, { state: 'completed', age: '3600000' })).toMatchObject({ location: `${base}?done=cleaned&n=0` });
    expect(await client.post(`${base}/actions/clean`, { state: 'completed', age: '0' })).toMatchObject({ location: `${base}?done=cleaned&n=2` });
    expect(await client.post(`${base}/actions/clean`, { state: 'failed', age: '0' })).toMatchObject({ location: `${base}?done=cleaned&n=2` });
    expect((await client.post(`${base}/actions/clean`, { state: 'waiting', age: '0' })).status).toBe(400);
    expect(await q.getCounts()).toMatchObject({ completed: 0, failed: 0 });
  });

  it('retry, promote and remove one job, and remove a schedule; a job in the wrong state is said so', async () => {
    const client = await dashboard();
    const q = queue('one');
    const base = `/queues/${q.name}`;
    const failed = await q.add('f', { fail: 'once' }, { attempts: 1 });
    await runJobs(q, async () => (await q.getCounts()).failed === 1);
    const later = await q.add('later', {}, { delay: 600_000 });
    await q.upsertSchedule('hourly', { every: 3_600_000 }, { name: 'tick', data: {} });
    await client.get(base);
    expect(await client.post(`${base}/jobs/${failed.id}/actions/retry`)).toMatchObject({ location: `${base}/jobs/${failed.id}?done=retried` });
    expect((await q.getJob(failed.id))?.state).toBe('waiting');
    expect(await client.post(`${base}/jobs/${failed.id}/actions/retry`)).toMatchObject({ location: `${base}/jobs/${failed.id}?error=wrong-state` });
    expect((await client.get(`${base}/jobs/${failed.id}?error=wrong-state`)).text).toContain('not in a state that allows this');
    expect(await client.post(`${base}/jobs/${later.id}/actions/promote`)).toMatchObject({ location: `${base}/jobs/${later.id}?done=promoted` });
    expect((await q.getJob(later.id))?.state).toBe('waiting');
    expect(await client.post(`${base}/jobs/${later.id}/actions/promote`)).toMatchObject({ location: `${base}/jobs/${later.id}?error=wrong-state` });
    expect(await client.post(`${base}/jobs/${later.id}/actions/remove`)).toMatchObject({ location: `${base}?done=removed` });
    expect(await q.getJob(later.id)).toBeUndefined();
    expect(await client.post(`${base}/jobs/${later.id}/actions/remove`)).toMatchObject({ location: `${base}/jobs/${later.id}?error=not-found` });
    expect(await client.post(`${base}/schedules/hourly/actions/remove`)).toMatchObject({ location: `${base}/schedules?done=schedule-removed` });
    expect(await q.getSchedules()).toEqual([]);
  });

  it('runs a schedule now and leads to its job; a schedule that is gone is said so, a bad id refused', async () => {
    const client = await dashboard();
    const q = queue('run-now');
    const base = `/queues/${q.name}`;
    await q.upsertSchedule('hourly', { every: 3_600_000 }, { name: 'tick', data: { n: 1 } });
    await client.get(`${base}/schedules`);
    const ran = await client.post(`${base}/schedules/hourly/actions/run`);
    expect(ran.status).toBe(303);
    const id = /\/jobs\/([^?]+)\?done=schedule-ran$/.exec(ran.location ?? '')?.[1];
    expect(decodeURIComponent(id ?? '')).toMatch(/^hourly:now:\d+$/);
    const job = await q.getJob(decodeURIComponent(id as string));
    expect(job).toMatchObject({ name: 'tick', data: { n: 1 }, state: 'waiting' });
    expect((await client.get(ran.location as string)).text).toContain("Added now by its schedule&#39;s Run now");
    expect((await q.getSchedules())[0]).toMatchObject({ runs: 0 });
    expect(await client.post(`${base}/schedules/gone/actions/run`)).toMatchObject({ status: 303, location: `${base}/schedules?error=schedule-missing` });
    expect((await client.post(`${base}/schedules/${'x'.repeat(201)}/actions/run`)).status).toBe(400);
    expect((await client.post(`${base}/schedules/hourly/actions/fly`)).status).toBe(404);
  });
});

describe("a job's events", () => {
  it('shows the events the stream still holds, and says when older ones were trimmed', async () => {
    const client = await dashboard();
    // 5 events at most: each add below is an entry of one event, so the first job's `added` is soon gone.
    const q = new Queue(uniqueQueue('trimmed'), { connection: redis.connection, eventsMaxLen: 5 });
    open.push(q);
    const first = await q.add('first', {});
    const page = async (id: string): Promise<string> => (await client.get(`/queues/${q.name}/jobs/${id}`)).text;
    expect(await page(first.id)).toMatch(/<span class="badge event-added">added<\/span><\/span><span class="detail">as first<\/span>/);
    expect(await page(first.id)).not.toContain('Older events were trimmed');
    for (let i = 0; i < 10; i++) await q.add('later', {});
    const trimmed = await page(first.id);
    expect(trimmed).toContain('Older events were trimmed');
    expect(trimmed).toContain('No events of this job in the events stream.');
    // A job followed by more events than a page looks through: its first ones are shown, and the cut is said.
    const busy = new Queue(uniqueQueue('busy'), { connection: redis.connection, eventsMaxLen: 50_000 });
    open.push(busy);
    const early = await busy.add('early', {});
    await busy.addBulk(Array.from({ length: 12_000 }, () => ({ name: 'bulk', data: {} })));
    const cut = (await client.get(`/queues/${busy.name}/jobs/${early.id}`)).text;
    expect(cut).toContain('<span class="badge event-added">added</span>');
    expect(cut).toContain('Only the first 10,000 events of the queue since this job was added were looked through');
        // A queue whose events are off has none to show, and says so.
    const quiet = new Queue(uniqueQueue('quiet'), { connection: redis.connection, eventsMaxLen: 0 });
    open.push(quiet);
    const silent = await quiet.add('silent', {});
    expect((await client.get(`/queues/${quiet.name}/jobs/${silent.id}`)).text).toContain('The events stream holds no events');
  });
});

describe('polling', () => {
  it('lets polls of one document within half the poll interval share one read of Redis', async () => {
    const client = await dashboard({ pollIntervalMs: 400 });
    const q = queue('shared');
    await q.add('a', {});
    const admin = new Redis(redis.url);
    // Script calls, by FCALL or (read-only scripts) FCALL_RO.
    const scriptCalls = async (): Promise<number> =>
      [...(await admin.info('commandstats')).matchAll(/cmdstat_fcall(?:_ro)?:calls=(\d+)/g)].reduce((sum, m) => sum + Number(m[1]), 0);
    try {
      await client.get(`/api/queues/${q.name}`);
      await sleep(250);
      await admin.config('RESETSTAT');
      const polls = await Promise.all(Array.from({ length: 10 }, () => client.get(`/api/queues/${q.name}`)));
      expect(new Set(polls.map((poll) => poll.text)).size).toBe(1);
      expect(JSON.parse(polls[0]!.text)).toMatchObject({ cells: { waiting: '1' } });
      expect(await scriptCalls()).toBe(1);
      await sleep(250);
      await q.add('b', {});
      expect(JSON.parse((await client.get(`/api/queues/${q.name}`)).text)).toMatchObject({ cells: { waiting: '2' } });
    } finally {
      await admin.quit();
    }
  });
});

describe('mounting', () => {
  it('under a basePath, strips it from the URL and prefixes it to every link', async () => {
    const client = await dashboard({ basePath: '/ops/queues/' });
    const q = queue('mount');
    await q.add('a', {});
    const page = await client.get('/ops/queues');
    expect(page.status).toBe(200);
    expect(page.text).toContain('href="/ops/queues/assets/dashboard.css"');
    expect(page.text).toContain(`href="/ops/queues/queues/${q.name}"`);
    expect(page.text).toContain('data-poll="/ops/queues/api/overview"');
    expect((await client.get(`/ops/queues/queues/${q.name}`)).status).toBe(200);
    expect(client.cookies.has('sluice_csrf')).toBe(true);
  });

  it('in Express, finds its mount path with or without the trailing slash', async () => {
    const q = queue('express');
    await q.add('a', {});
    const express = await serveExpress({ connection: redis.connection, port: 0 });
    try {
      const origin = new URL(express.url).origin;
      for (const path of ['/admin/queues', '/admin/queues/', `/admin/queues/queues/${q.name}`]) {
        const text = await (await fetch(origin + path)).text();
        expect(text, path).toContain('href="/admin/queues/assets/dashboard.css"');
        expect(text, path).toContain(`href="/admin/queues/queues/${q.name}"`);
      }
    } finally {
      await express.close();
    }
  });
});

import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { DecodeError, JobActiveError, JobNotFoundError, JobStateError, RedisTimeoutError, RedisUnavailableError, ValidationError } from '../errors.js';
import type { Queue } from '../queue.js';
import type { ConnectionOptions } from '../redis/connection.js';
import { JOB_STATES, type JobState, type QueueMetrics } from '../states.js';
import { unpackTraceContext } from '../telemetry/trace-context.js';
import { LOG_LINES } from './format.js';
import type { Html } from './html.js';
import {
  FILTER_SCAN,
  filtered,
  groupsPage,
  jobCells,
  jobPage,
  jobRows,
  jobUrl,
  messagePage,
  metricCells,
  overviewPage,
  PAGE_SIZE,
  q,
  queuePage,
  schedulesPage,
  type JobList,
  type ListFilter,
  type OverviewRow,
  type PageContext,
} from './pages.js';
import { QueueDirectory } from './queues.js';
import { LabelStore } from '../redis/label-store.js';
import { readTimeline } from './timeline.js';
import { CSRF_FIELD, Csrf, presentedToken, sameOrigin, sameSecret, securityHeaders, setCookie, TOKEN_COOKIE } from './security.js';

/**
 * The options of {@link createDashboard}. Validated when the dashboard is created: a bad one throws
 * ValidationError. Without `token` or `authorize` anyone who reaches the handler may act on the queues:
 * mount it behind your own authentication, or set one of them.
 */
export interface DashboardOptions {
  /** How to reach Redis, as for a Queue: `{ url }`, ioredis options, a cluster, or an ioredis instance (never closed by the dashboard). */
  connection: ConnectionOptions;
  /**
   * The prefix whose queues it shows.
   *
   * @defaultValue `'sluice'`
   */
  prefix?: string;
  /**
   * Hides every action and refuses every POST with 403.
   *
   * @defaultValue `false`
   */
  readOnly?: boolean;
  /**
   * Called for every request, assets included; nothing is served unless it resolves true.
   *
   * @defaultValue none: every request is served (after `token`, when set)
   */
  authorize?: (req: IncomingMessage) => boolean | Promise<boolean>;
  /**
   * A shared secret of at least 16 characters: a request must carry it as `Authorization: Bearer <token>`,
   * or have visited any page with `?token=<token>` once (which sets an HttpOnly cookie and redirects to the
   * URL without it).
   *
   * @defaultValue none: no token is asked for
   */
  token?: string;
  /**
   * A link for a job's trace id: an http(s) URL with `{traceId}` where the id goes,
   * `http://jaeger:16686/trace/{traceId}`.
   *
   * @defaultValue none: trace ids are shown without a link
   */
  traceUrl?: string;
  /**
   * The path the handler is mounted at, for servers that pass the full URL (node:http, Fastify, Koa):
   * it is cut from the URL and prefixed to every link. Express' `app.use(path, handler)` needs none.
   *
   * @defaultValue `''`: mounted at the root, or found by Express
   */
  basePath?: string;
  /**
   * Signs the CSRF tokens; set the same one on every process when several serve one dashboard.
   *
   * @defaultValue random: 32 bytes, new in each process
   */
  secret?: string;
  /**
   * The events stream cap of the queues (as their Queues set it): retry and remove write events.
   *
   * @defaultValue `10000`
   */
  eventsMaxLen?: number;
  /**
   * How often an open page asks for fresh counts, in ms (an integer of at least 250). Polls of the same
   * page within half of it (at most 1 s) share one read of Redis.
   *
   * @defaultValue `2000`
   */
  pollIntervalMs?: number;
}

/** A plain Node request handler; Express' `next` is accepted and only used for errors it cannot answer. */
export interface DashboardHandler {
  (req: IncomingMessage, res: ServerResponse, next?: (error?: unknown) => void): void;
  /** Closes the dashboard's Redis connection (unless it was an instance passed in) and its Queues. */
  close(): Promise<void>;
}

const ASSETS_DIR = new URL('../../assets/dashboard/', import.meta.url);
const ASSETS: Record<string, string> = {
  'dashboard.js': 'text/javascript; charset=utf-8',
  'dashboard.css': 'text/css; charset=utf-8',
  'favicon.svg': 'image/svg+xml',
};
const assetCache = new Map<string, Buffer>();
/** A form body larger than this is not a form of ours. */
const MAX_BODY_BYTES = 16 * 1024;
const MAX_PAGE = 4000;
/** Ten years: the longest age the clean form sends. */
const MAX_AGE_MS = 10 * 365 * 86_400_000;

/** Fixed texts for the outcome of an action: the redirect carries a code, never text, so no page shows words a link chose. */
const FLASH: Record<string, { kind: 'ok' | 'error'; text: (n: number) => string }> = {
  paused: { kind: 'ok', text: () => 'Paused: workers take no new jobs.' },
  resumed: { kind: 'ok', text: () => 'Resumed.' },
  'retried-all': { kind: 'ok', text: (n) => `Sent ${n} failed job${n === 1 ? '' : 's'} back to waiting.` },
  'promoted-all': { kind: 'ok', text: (n) => `Promoted ${n} delayed job${n === 1 ? '' : 's'}.` },
  cleaned: { kind: 'ok', text: (n) => `Deleted ${n} job${n === 1 ? '' : 's'}.` },
  retried: { kind: 'ok', text: () => 'Sent back to waiting.' },
  promoted: { kind: 'ok', text: () => 'Promoted: waiting now.' },
  removed: { kind: 'ok', text: () => 'Job removed.' },
  cancelled: { kind: 'ok', text: () => 'Cancelled: the job failed for good; a running handler was told to stop.' },
  'schedule-removed': { kind: 'ok', text: () => 'Schedule removed.' },
  'schedule-ran': { kind: 'ok', text: () => "Added now by its schedule's Run now; the schedule's next run is unchanged." },
  'schedule-missing': { kind: 'error', text: () => 'No such schedule (removed meanwhile?).' },
  'not-found': { kind: 'error', text: () => 'No such job (removed meanwhile?).' },
  'job-active': { kind: 'error', text: () => 'The job is running; wait for it to finish.' },
  'wrong-state': { kind: 'error', text: () => 'The job is not in a state that allows this any more.' },
  corrupt: { kind: 'error', text: () => "The job's stored fields cannot be read; remove it." },
};

/**
 * Polls of the same document within `ttlMs` share one read of Redis, the one in flight included. Measured
 * (npm run bench:dashboard-poll): the overview's poll of 50 queues runs 851 commands; 50 tabs each polling
 * it every 2 s would run 21,000 commands/s, and shared they run at most 851 per `ttlMs`.
 */
class SharedReads {
  readonly #recent = new Map<string, { at: number; body: Promise<string> }>();

  constructor(private readonly ttlMs: number) {}

  read(key: string, load: () => Promise<string>): Promise<string> {
    const now = Date.now();
    const hit = this.#recent.get(key);
    if (hit !== undefined && now - hit.at < this.ttlMs) return hit.body;
    // Bounded: entries older than the TTL serve nobody.
    if (this.#recent.size >= 1000) for (const [k, v] of this.#recent) if (now - v.at >= this.ttlMs) this.#recent.delete(k);
    const body = load();
    this.#recent.set(key, { at: now, body });
    // A failed read is not shared with the next poll.
    body.catch(() => {
      if (this.#recent.get(key)?.body === body) this.#recent.delete(key);
    });
    return body;
  }
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

interface Request {
  req: IncomingMessage;
  res: ServerResponse;
  /** The path below the mount point, always starting with '/'. */
  path: string;
  query: URLSearchParams;
  ctx: PageContext;
}

function asset(name: string): Buffer {
  let body = assetCache.get(name);
  if (body === undefined) {
    body = readFileSync(new URL(name, ASSETS_DIR));
    assetCache.set(name, body);
  }
  return body;
}

function send(res: ServerResponse, status: number, type: string, body: string | Buffer): void {
  res.statusCode = status;
  res.setHeader('Content-Type', type);
  res.setHeader('Content-Length', Buffer.byteLength(body));
  res.end(body);
}

function sendHtml(res: ServerResponse, status: number, page: Html): void {
  send(res, status, 'text/html; charset=utf-8', page.value);
}

function redirect(res: ServerResponse, location: string): void {
  res.statusCode = 303;
  res.setHeader('Location', location);
  res.end();
}

/** Where the handler is mounted, and the path below it. */
function locate(req: IncomingMessage, basePath: string): { base: string; path: string; query: URLSearchParams } {
  const url = new URL(req.url ?? '/', 'http://dashboard.invalid');
  let path = url.pathname;
  let base = basePath;
  const original = (req as { originalUrl?: unknown }).originalUrl;
  if (typeof original === 'string') {
    // Express and Connect cut the mount path from req.url and keep the whole one in originalUrl.
    const whole = new URL(original, 'http://dashboard.invalid').pathname;
    // `/admin` itself reaches the handler as '/', which `/admin` does not end with.
    base = whole.endsWith(path) ? whole.slice(0, whole.length - path.length) : path === '/' ? whole : basePath;
  } else if (basePath !== '' && (path === basePath || path.startsWith(`${basePath}/`))) {
    path = path.slice(basePath.length);
  }
  if (path === '') path = '/';
  return { base: base.replace(/\/+$/, ''), path, query: url.searchParams };
}

function segments(path: string): string[] | undefined {
  try {
    return path.split('/').filter((part) => part !== '').map(decodeURIComponent);
  } catch {
    return undefined;
  }
}

async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  // A framework may have read the body already (Express' urlencoded(), @fastify/formbody).
  const parsed = (req as { body?: unknown }).body;
  if (typeof parsed === 'string') return new URLSearchParams(parsed);
  if (typeof parsed === 'object' && parsed !== null && !Buffer.isBuffer(parsed)) {
    const form = new URLSearchParams();
    for (const [key, value] of Object.entries(parsed)) if (typeof value === 'string') form.set(key, value);
    return form;
  }
  if (Buffer.isBuffer(parsed)) return new URLSearchParams(parsed.toString('utf8'));
  if (req.readableEnded) return new URLSearchParams();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new HttpError(413, 'The form is too large.');
    chunks.push(chunk as Buffer);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

function flashFrom(query: URLSearchParams): PageContext['flash'] {
  const code = query.get('done') ?? query.get('error');
  if (code === null) return undefined;
  const flash = FLASH[code];
  if (flash === undefined) return undefined;
  const n = Number(query.get('n') ?? '0');
  return { kind: flash.kind, text: flash.text(Number.isSafeInteger(n) && n >= 0 ? n : 0) };
}

function validTraceUrl(template: string | undefined): string | undefined {
  if (template === undefined) return undefined;
  let url: URL | undefined;
  try {
    url = new URL(template.replaceAll('{traceId}', '0'.repeat(32)));
  } catch {
    url = undefined;
  }
  if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:') || !template.includes('{traceId}')) {
    throw new ValidationError(`traceUrl must be an http(s) URL with {traceId} in it, such as http://localhost:16686/trace/{traceId}; got ${JSON.stringify(template)}`);
  }
  return template;
}

/**
 * The web dashboard as a plain Node `(req, res)` handler, mountable in node:http, Express, Fastify or Koa:
 * the queues under one prefix, their counts, jobs, groups and schedules, and (unless `readOnly`) the
 * operator's actions: retry, promote, remove, pause, clean. Server-rendered, with a strict
 * Content-Security-Policy and CSRF tokens on every form. Call `close()` on the handler at shutdown.
 *
 * @param options - {@link DashboardOptions}; `connection` is required.
 * @throws ValidationError for a bad option (a short `token`, a `traceUrl` without `{traceId}`, ...).
 */
export function createDashboard(options: DashboardOptions): DashboardHandler {
  if (typeof options !== 'object' || options === null || options.connection === undefined) {
    throw new ValidationError('createDashboard(options) needs options.connection ({ url } or ioredis options or an instance)');
  }
  const traceUrl = validTraceUrl(options.traceUrl);
  if (options.token !== undefined && (typeof options.token !== 'string' || options.token.length < 16)) {
    throw new ValidationError('createDashboard: token must be a string of at least 16 characters (e.g. 32 random bytes in hex)');
  }
  if (options.authorize !== undefined && typeof options.authorize !== 'function') throw new ValidationError('createDashboard: authorize must be a function (req) => boolean');
  const basePath = (options.basePath ?? '').replace(/\/+$/, '');
  if (basePath !== '' && !basePath.startsWith('/')) throw new ValidationError(`createDashboard: basePath must start with '/', got ${JSON.stringify(options.basePath)}`);
  const poll = options.pollIntervalMs ?? 2000;
  if (!Number.isInteger(poll) || poll < 250) throw new ValidationError('createDashboard: pollIntervalMs must be an integer of at least 250');
  const readOnly = options.readOnly === true;
  const shared = new SharedReads(Math.min(1000, Math.floor(poll / 2)));
  const csrf = new Csrf(options.secret);
  const queues = new QueueDirectory(options.connection, options.prefix, options.eventsMaxLen);

  async function queueOr404(name: string, fresh = true): Promise<Queue> {
    const queue = await queues.get(name, fresh);
    if (queue === undefined) throw new HttpError(404, `There is no queue named '${name}' under the prefix '${queues.prefix}'.`);
    return queue;
  }

  async function now(queue?: Queue): Promise<number> {
    return queue === undefined ? Date.now() : queue.store.time();
  }

  // ---- pages ----

  /** Every queue's metrics; with `history`, its per-minute history too (a page view, not a poll). */
  async function overviewRows(history: boolean): Promise<OverviewRow[]> {
    const names = await queues.names();
    return Promise.all(
      names.map(async (name): Promise<OverviewRow> => {
        try {
          const queue = await queues.get(name, false);
          if (queue === undefined) return { name, error: 'registered, but not found in Redis (obliterated?)' };
          const [metrics, minutes] = await Promise.all([queue.getMetrics(), history ? queue.getMetricsHistory() : []]);
          return { name, metrics, history: minutes };
        } catch (error) {
          return { name, error: (error as Error).message };
        }
      }),
    );
  }

  /** `withLabels`: read the labels in use for the filter's choices (a page view, not the rows' poll). */
  async function jobList(queue: Queue, state: JobState, page: number, filter: ListFilter, m: QueueMetrics, withLabels: boolean): Promise<JobList> {
    const inState = state === 'waiting' ? m.waiting + m.paused : m[state];
    const labels = withLabels ? await queue.getLabels(50) : [];
    const start = page * PAGE_SIZE;
    if (!filtered(filter)) return { state, page, filter, labels, total: inState, jobs: await queue.getJobs(state, start, start + PAGE_SIZE - 1) };
    const wanted = { ...(filter.label === '' ? {} : { label: filter.label }), ...(filter.name === '' ? {} : { name: filter.name }), ...(filter.group === '' ? {} : { group: filter.group }) };
    // A label's completed or failed jobs are a set of their own: read by position, counted exactly.
    if (filter.label !== '' && filter.name === '' && filter.group === '' && (state === 'completed' || state === 'failed')) {
      const [jobs, total] = await Promise.all([
        queue.getJobs(state, { ...wanted, start, end: start + PAGE_SIZE - 1 }),
        LabelStore.of(queue.store).size(filter.label, state === 'completed' ? 'c' : 'f'),
      ]);
      return { state, page, filter, labels, total, jobs };
    }
    // Otherwise the matches up to this page and one more (whether a next page exists), looking through
    // FILTER_SCAN jobs at most where no index answers.
    const found = await queue.findJobs(state, { ...wanted, start: 0, end: start + PAGE_SIZE, scanLimit: FILTER_SCAN });
    return { state, page, filter, labels, total: found.jobs.length, jobs: found.jobs.slice(start, start + PAGE_SIZE), scanned: { looked: found.looked, more: !found.complete } };
  }

  async function get(r: Request, parts: string[]): Promise<void> {
    const { res, query, ctx } = r;
    if (parts.length === 0) {
      const rows = await overviewRows(true);
      return sendHtml(res, 200, overviewPage(ctx, rows));
    }
    if (parts[0] === 'api') return api(r, parts.slice(1));
    if (parts[0] !== 'queues' || parts[1] === undefined) throw new HttpError(404, 'No such page.');
    const name = parts[1];
    const queue = await queueOr404(name);
    ctx.now = await now(queue);
    if (parts.length === 2) {
      const id = query.get('id');
      if (id !== null && id !== '') {
        if ((await queue.getJob(id)) !== undefined) return redirect(res, jobUrl(ctx.base, name, id));
        ctx.flash = { kind: 'error', text: `No job with id "${id}" in ${name}.` };
      }
      const stateParam = query.get('state') ?? 'failed';
      const state = (JOB_STATES as readonly string[]).includes(stateParam) ? (stateParam as JobState) : 'failed';
      const pageNumber = Number(query.get('page') ?? '1');
      const page = Number.isInteger(pageNumber) && pageNumber >= 1 ? Math.min(pageNumber, MAX_PAGE) - 1 : 0;
      const filter = { name: query.get('name') ?? '', group: query.get('group') ?? '', label: query.get('label') ?? '' };
      const metrics = await queue.getMetrics();
      const rowsOnly = query.get('partial') === 'rows';
      const list = await jobList(queue, state, page, filter, metrics, !rowsOnly).catch((error: unknown) => {
        // A label or group no job could carry (a control character, too long): say so in fixed words (never
        // text a link chose), list without it.
        if (!(error instanceof ValidationError)) throw error;
        ctx.flash = { kind: 'error', text: 'Label and group filters not applied: no job can carry that label or group (1 to 64 and 1 to 256 characters, no control characters).' };
        return jobList(queue, state, page, { name: filter.name, group: '', label: '' }, metrics, !rowsOnly);
      });
      if (rowsOnly) return sendHtml(res, 200, jobRows(ctx, name, list));
      const [history, workers] = await Promise.all([queue.getMetricsHistory(), queue.getWorkers()]);
      return sendHtml(res, 200, queuePage(ctx, name, metrics, list, history, workers));
    }
    if (parts[2] === 'jobs' && parts[3] !== undefined && parts.length === 4) {
      const job = await queue.getJob(parts[3]);
      if (job === undefined) throw new HttpError(404, `There is no job '${parts[3]}' in ${name} (removed, or deleted by retention).`);
      const [logs, timeline] = await Promise.all([job.getLogs(-(LOG_LINES + 1), -1), readTimeline(queue, job)]);
      const older = logs.length > LOG_LINES;
      return sendHtml(
        res,
        200,
        jobPage(ctx, name, { job, logs: older ? logs.slice(1) : logs, older, traceId: unpackTraceContext(job.traceContext)?.traceId, timeline }),
      );
    }
    if (parts[2] === 'schedules' && parts.length === 3) return sendHtml(res, 200, schedulesPage(ctx, name, await queue.getSchedules()));
    if (parts[2] === 'groups' && parts.length === 3) {
      const group = query.get('group') ?? '';
      const [window, rules, held, status] = await Promise.all([
        queue.getRateWindow(),
        queue.getGroupLimits(),
        queue.getLimitedGroups(50),
        group === '' ? undefined : queue.getGroup(group).catch((error: unknown) => {
          if (error instanceof ValidationError) return undefined;
          throw error;
        }),
      ]);
      return sendHtml(res, 200, groupsPage(ctx, name, { window, rules, held, ...(status === undefined ? {} : { lookup: { group, status } }) }));
    }
    throw new HttpError(404, 'No such page.');
  }

  /** The small JSON documents pages poll: only the cells that change, already formatted. */
  async function api(r: Request, parts: string[]): Promise<void> {
    let read: () => Promise<unknown>;
    if (parts.length === 1 && parts[0] === 'overview') {
      read = async () => {
        const rows = await overviewRows(false);
        const cells: Record<string, string> = {};
        for (const row of rows) if ('metrics' in row) Object.assign(cells, metricCells(`q:${row.name}:`, row.metrics));
        return { names: rows.map((row) => row.name), cells };
      };
    } else if (parts[0] === 'queues' && parts[1] !== undefined && parts.length === 2) {
      const name = parts[1];
      read = async () => ({ cells: metricCells('', await (await queueOr404(name, false)).getMetrics()) });
    } else if (parts[0] === 'queues' && parts[1] !== undefined && parts[2] === 'jobs' && parts[3] !== undefined && parts.length === 4) {
      const [, name, , id] = parts as [string, string, string, string];
      read = async () => {
        const job = await (await queueOr404(name, false)).getJob(id);
        if (job === undefined) throw new HttpError(404, 'No such job.');
        return { cells: jobCells(job) };
      };
    } else {
      throw new HttpError(404, 'No such endpoint.');
    }
    // Tabs polling the same document share one read: 50 open tabs cost Redis what one does.
    const body = await shared.read(JSON.stringify(parts), async () => JSON.stringify(await read()));
    send(r.res, 200, 'application/json; charset=utf-8', body);
  }

  // ---- actions ----

  async function post(r: Request, parts: string[]): Promise<void> {
    if (readOnly) throw new HttpError(403, 'This dashboard is read-only: actions are refused.');
    if (!sameOrigin(r.req)) throw new HttpError(403, 'Refused: the request came from another site (Origin).');
    const form = await readForm(r.req);
    if (!csrf.check(r.req, form.get(CSRF_FIELD) ?? undefined)) {
      throw new HttpError(403, 'Refused: the form token is missing or stale. Reload the page and try again.');
    }
    const { base } = r.ctx;
    if (parts[0] !== 'queues' || parts[1] === undefined) throw new HttpError(404, 'No such action.');
    const name = parts[1];
    const queue = await queueOr404(name);
    const done = (to: string, code: string, n?: number): void => redirect(r.res, `${to}?done=${code}${n === undefined ? '' : `&n=${n}`}`);
    if (parts[2] === 'actions' && parts.length === 4) {
      const back = q(base, name);
      switch (parts[3]) {
        case 'pause':
          await queue.pause();
          return done(back, 'paused');
        case 'resume':
          await queue.resume();
          return done(back, 'resumed');
        case 'retry-failed':
          return done(`${back}`, 'retried-all', await queue.retryJobs('failed'));
        case 'promote-delayed':
          return done(back, 'promoted-all', await queue.promoteJobs());
        case 'clean': {
          const state = form.get('state');
          const age = Number(form.get('age'));
          if ((state !== 'completed' && state !== 'failed') || !Number.isInteger(age) || age < 0 || age > MAX_AGE_MS) {
            throw new HttpError(400, 'clean takes state completed or failed and an age in ms.');
          }
          return done(back, 'cleaned', await queue.clean(state, age));
        }
        default:
          throw new HttpError(404, 'No such action.');
      }
    }
    if (parts[2] === 'jobs' && parts[3] !== undefined && parts[4] === 'actions' && parts.length === 6) {
      const id = parts[3];
      const page = jobUrl(base, name, id);
      const failed = (code: string): void => redirect(r.res, `${page}?error=${code}`);
      try {
        switch (parts[5]) {
          case 'retry': {
            const job = await queue.getJob(id);
            if (job === undefined) return failed('not-found');
            await job.retry();
            return done(page, 'retried');
          }
          case 'remove': {
            const job = await queue.getJob(id);
            if (job === undefined) return failed('not-found');
            await job.remove();
            return done(q(base, name), 'removed');
          }
          case 'promote':
            await queue.promoteJob(id);
            return done(page, 'promoted');
          case 'cancel':
            await queue.cancel(id);
            return done(page, 'cancelled');
          default:
            throw new HttpError(404, 'No such action.');
        }
      } catch (error) {
        if (error instanceof JobNotFoundError) return failed('not-found');
        if (error instanceof JobActiveError) return failed('job-active');
        if (error instanceof DecodeError) return failed('corrupt');
        if (error instanceof ValidationError || error instanceof JobStateError) return failed('wrong-state');
        throw error;
      }
    }
    if (parts[2] === 'schedules' && parts[3] !== undefined && parts[4] === 'actions' && parts.length === 6) {
      const back = q(base, name, 'schedules');
      try {
        switch (parts[5]) {
          case 'remove':
            await queue.removeSchedule(parts[3]);
            return done(back, 'schedule-removed');
          case 'run': {
            const id = await queue.runSchedule(parts[3]);
            // To the job it added: the page shows it, and follows it as it runs.
            return id === null ? redirect(r.res, `${back}?error=schedule-missing`) : done(jobUrl(base, name, id), 'schedule-ran');
          }
          default:
            throw new HttpError(404, 'No such action.');
        }
      } catch (error) {
        if (error instanceof ValidationError) throw new HttpError(400, error.message);
        throw error;
      }
    }
    throw new HttpError(404, 'No such action.');
  }

  // ---- the gate ----

  /** True when the request may go on; otherwise it has been answered. */
  async function admit(req: IncomingMessage, res: ServerResponse, base: string, query: URLSearchParams, ctx: PageContext): Promise<boolean> {
    if (options.token !== undefined) {
      const given = query.get('token');
      if (given !== null && req.method === 'GET' && sameSecret(given, options.token)) {
        setCookie(req, res, TOKEN_COOKIE, given, base === '' ? '/' : base);
        // The token leaves the address bar (and the history) at once.
        query.delete('token');
        const rest = query.toString();
        const url = new URL(req.url ?? '/', 'http://dashboard.invalid');
        const original = (req as { originalUrl?: unknown }).originalUrl;
        const path = typeof original === 'string' ? new URL(original, 'http://dashboard.invalid').pathname : url.pathname;
        redirect(res, `${path}${rest === '' ? '' : `?${rest}`}`);
        return false;
      }
      const presented = presentedToken(req);
      if (presented === undefined || !sameSecret(presented, options.token)) {
        res.setHeader('WWW-Authenticate', 'Bearer realm="sluice dashboard"');
        sendHtml(res, 401, messagePage({ ...ctx, readOnly: true }, 'Token needed', 'This dashboard needs its access token: open it with ?token=<token> once, or send Authorization: Bearer <token>.'));
        return false;
      }
    }
    if (options.authorize !== undefined && (await options.authorize(req)) !== true) {
      sendHtml(res, 403, messagePage({ ...ctx, readOnly: true }, 'Forbidden', 'You are not allowed to see this dashboard.'));
      return false;
    }
    return true;
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    securityHeaders(res);
    const { base, path, query } = locate(req, basePath);
    const ctx: PageContext = { base, csrf: '', readOnly, now: Date.now(), traceUrl, pollMs: poll };
    if (!(await admit(req, res, base, query, ctx))) return;
    const parts = segments(path);
    if (parts === undefined) throw new HttpError(400, 'The address is not valid.');
    if (req.method === 'GET' || req.method === 'HEAD') {
      if (parts[0] === 'assets' && parts.length === 2 && parts[1] !== undefined && ASSETS[parts[1]] !== undefined) {
        res.setHeader('Cache-Control', 'no-cache');
        return send(res, 200, ASSETS[parts[1]] as string, asset(parts[1]));
      }
      if (!readOnly) ctx.csrf = csrf.token(req, res, base === '' ? '/' : base);
      ctx.flash = flashFrom(query);
      return get({ req, res, path, query, ctx }, parts);
    }
    if (req.method === 'POST') return post({ req, res, path, query, ctx }, parts);
    res.setHeader('Allow', 'GET, HEAD, POST');
    throw new HttpError(405, 'Method not allowed.');
  }

  const handler = ((req: IncomingMessage, res: ServerResponse, next?: (error?: unknown) => void): void => {
    handle(req, res).catch((error: unknown) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      const status = error instanceof HttpError ? error.status : error instanceof RedisUnavailableError || error instanceof RedisTimeoutError ? 503 : 500;
      // A 500 is a bug of ours or of Redis: the framework's error handling (logging) should hear of it.
      if (status === 500 && next !== undefined) {
        next(error);
        return;
      }
      const title = status === 404 ? 'Not found' : status === 403 ? 'Forbidden' : status === 503 ? 'Redis is not answering' : status === 500 ? 'Something went wrong' : 'Refused';
      const message = error instanceof Error ? error.message : String(error);
      const { base } = locate(req, basePath);
      sendHtml(res, status, messagePage({ base, csrf: '', readOnly: true, now: Date.now(), traceUrl, pollMs: poll }, title, message, `${base}/`));
    });
  }) as DashboardHandler;
  handler.close = () => queues.close();
  return handler;
}

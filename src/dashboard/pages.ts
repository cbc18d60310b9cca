import type { Job } from '../job.js';
import type { WorkerInfo } from '../worker/heartbeat.js';
import type { LabelUse } from '../labels.js';
import type { GroupLimit, GroupStatus, LimitedGroups, RateWindow } from '../queue-settings.js';
import type { ScheduleInfo } from '../schedules/definition.js';
import type { JobState, MinuteCounts, QueueMetrics } from '../states.js';
import { largeChart, smallChart } from './chart.js';
import { bytes, cut, duration, LOG_LINE_BYTES, preview, pretty, relative, TEXT_BYTES, timestamp, VALUE_BYTES } from './format.js';
import { html, join, type Fragment, type Html } from './html.js';
import { CSRF_FIELD } from './security.js';
import { timelineSection, type Timeline } from './timeline.js';

/**
 * The pages, server-rendered: plain functions from what was read to Html. Every value from Redis goes
 * through the `html` tag (escaped) and, when it can be large, through `cut`. Forms are shown only when
 * the dashboard is not read-only; the handler refuses their POSTs anyway.
 */

export interface PageContext {
  /** Where the dashboard is mounted, without a trailing slash ('' at the root). */
  base: string;
  csrf: string;
  readOnly: boolean;
  /** Redis' clock when the page was read (ms). */
  now: number;
  /** A URL with `{traceId}` in it, or undefined. */
  traceUrl: string | undefined;
  /** How often the page's script polls, ms. */
  pollMs: number;
  /** A message after an action, already chosen from a fixed list. */
  flash?: { kind: 'ok' | 'error'; text: string };
}

export const PAGE_SIZE = 25;
/**
 * How many jobs a filter looks through when it has no index to read (a name, a group outside its waiting
 * set, a label's unfinished jobs checked for their state): the scanLimit of queue.getJobs' filter.
 */
export const FILTER_SCAN = 1000;

const STATES: readonly JobState[] = ['waiting', 'active', 'delayed', 'completed', 'failed'];

export function q(base: string, name: string, ...rest: string[]): string {
  return [`${base}/queues/${encodeURIComponent(name)}`, ...rest.map(encodeURIComponent)].join('/');
}

export function jobUrl(base: string, queue: string, id: string): string {
  return q(base, queue, 'jobs', id);
}

function withQuery(path: string, params: Record<string, string | number | undefined>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) if (value !== undefined && value !== '') search.set(key, String(value));
  const text = search.toString();
  return text === '' ? path : `${path}?${text}`;
}

export function layout(ctx: PageContext, options: { title: string; crumbs: Fragment; body: Fragment; poll?: string; data?: Record<string, string> }): Html {
  const flash = ctx.flash === undefined ? '' : html`<p class="flash ${ctx.flash.kind}" role="status">${ctx.flash.text}</p>`;
  const data = Object.entries(options.data ?? {}).map(([key, value]) => html` data-${key}="${value}"`);
  const poll = options.poll === undefined ? '' : html` data-poll="${options.poll}" data-interval="${ctx.pollMs}"${data}`;
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="same-origin">
<title>${options.title} · sluice</title>
<link rel="icon" href="${ctx.base}/assets/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="${ctx.base}/assets/dashboard.css">
<script src="${ctx.base}/assets/dashboard.js" defer></script>
</head>
<body>
<header class="top">
<a class="brand" href="${ctx.base}/">sluice</a>
<nav class="crumbs">${options.crumbs}</nav>
<span class="live" id="live" hidden></span>
${ctx.readOnly ? html`<span class="badge ro" title="Actions are hidden and refused">read-only</span>` : ''}
</header>
<main${poll}>
${flash}
${options.body}
</main>
<footer>Read from Redis at <time>${timestamp(ctx.now)}</time>.</footer>
</body>
</html>
`;
}

/** A POST button (with the CSRF token); nothing in read-only mode. */
function action(ctx: PageContext, url: string, label: string, options: { confirm?: string; danger?: boolean; fields?: Fragment; id?: string } = {}): Html | '' {
  if (ctx.readOnly) return '';
  const confirm = options.confirm === undefined ? '' : html` data-confirm="${options.confirm}"`;
  return html`<form method="post" action="${url}" class="action"${confirm}><input type="hidden" name="${CSRF_FIELD}" value="${ctx.csrf}">${options.fields ?? ''}<button type="submit"${options.id === undefined ? '' : html` id="${options.id}"`} class="${options.danger === true ? 'danger' : ''}">${label}</button></form>`;
}

function live(key: string, value: Fragment): Html {
  return html`<span data-live="${key}">${value}</span>`;
}

function stateBadge(state: string): Html {
  return html`<span class="badge state-${state}">${state}</span>`;
}

function count(n: number | null): string {
  return n === null ? '–' : n.toLocaleString('en-US');
}

function levelsText(m: QueueMetrics): string {
  const parts = m.waitingByLevel.map((n, level) => `${level}: ${count(n)}`);
  if (m.waitingGrouped > 0) parts.push(`grouped: ${count(m.waitingGrouped)}`);
  return parts.join(' · ');
}

/** The cells of a queue's numbers that polling refreshes, by key; the page and the JSON share them. */
export function metricCells(prefix: string, m: QueueMetrics): Record<string, string> {
  return {
    [`${prefix}waiting`]: count(m.waiting + m.paused),
    [`${prefix}active`]: count(m.active),
    [`${prefix}delayed`]: count(m.delayed),
    [`${prefix}completed`]: count(m.completed),
    [`${prefix}failed`]: count(m.failed),
    [`${prefix}limited`]: count(m.limited),
    [`${prefix}levels`]: levelsText(m),
    [`${prefix}oldest`]: m.oldestWaitingMs === null ? '–' : duration(m.oldestWaitingMs),
    [`${prefix}paused`]: m.isPaused ? 'paused' : '',
  };
}

export type OverviewRow = { name: string; metrics: QueueMetrics; history: MinuteCounts[] } | { name: string; error: string };

export function overviewPage(ctx: PageContext, rows: readonly OverviewRow[]): Html {
  const body = rows.length === 0
    ? html`<section class="empty"><h1>No queues yet</h1><p>Queues appear here once a Queue, Worker or Scheduler of this prefix has used them.</p></section>`
    : html`<h1>Queues</h1>
<table class="grid overview">
<thead><tr><th>Queue</th><th></th><th class="n">Waiting</th><th class="n">Active</th><th class="n">Delayed</th><th class="n">Completed</th><th class="n">Failed</th><th class="n">Limited</th><th>Waiting per level</th><th class="n">Oldest waiting</th><th>Last 3 hours</th></tr></thead>
<tbody>
${rows.map((row) => {
  const link = html`<a href="${q(ctx.base, row.name)}">${row.name}</a>`;
  if ('error' in row) return html`<tr><td>${link}</td><td colspan="10" class="error">${row.error}</td></tr>`;
  const cells = metricCells(`q:${row.name}:`, row.metrics);
  const cell = (key: string, numeric = true): Html => html`<td${numeric ? html` class="n"` : ''}>${live(`q:${row.name}:${key}`, cells[`q:${row.name}:${key}`])}</td>`;
  return html`<tr><td>${link}</td><td><span class="badge paused" data-live="q:${row.name}:paused" data-hide-empty>${cells[`q:${row.name}:paused`]}</span></td>${cell('waiting')}${cell('active')}${cell('delayed')}${cell('completed')}${cell('failed')}${cell('limited')}${cell('levels', false)}${cell('oldest')}<td>${smallChart(row.history)}</td></tr>`;
})}
</tbody>
</table>
<p class="hint" id="new-queues" hidden>New queues were registered: <a href="${ctx.base}/">reload</a>.</p>
<p class="hint">Counts are exact (one script call per queue). Waiting includes jobs held by a pause. The charts show the last 3 hours, a bar per minute (completed green, failed red), as they were when the page was read.</p>`;
  return layout(ctx, {
    title: 'Queues',
    crumbs: html`<span>${rows.length} queue${rows.length === 1 ? '' : 's'}</span>`,
    body,
    poll: `${ctx.base}/api/overview`,
    data: { names: JSON.stringify(rows.map((row) => row.name)) },
  });
}

function queueNav(ctx: PageContext, name: string, current: 'jobs' | 'schedules' | 'groups'): Html {
  const tab = (key: typeof current, url: string, label: string): Html => html`<a href="${url}"${key === current ? html` aria-current="page"` : ''}>${label}</a>`;
  return html`<nav class="tabs">${tab('jobs', q(ctx.base, name), 'Jobs')}${tab('schedules', q(ctx.base, name, 'schedules'), 'Schedules')}${tab('groups', q(ctx.base, name, 'groups'), 'Groups & limits')}</nav>`;
}

function crumbs(ctx: PageContext, name: string, last?: Fragment): Html {
  return html`<a href="${ctx.base}/">Queues</a> / <a href="${q(ctx.base, name)}">${name}</a>${last === undefined ? '' : html` / ${last}`}`;
}

export interface JobList {
  state: JobState;
  page: number;
  jobs: Job[];
  /** Jobs of the state (the count), or with a filter the matches found. */
  total: number;
  filter: ListFilter;
  /** With a filter: how many jobs of the state were looked through, and whether there were more. */
  scanned?: { looked: number; more: boolean };
  /** The labels jobs carry now, most used first: the label filter's choices. */
  labels?: readonly LabelUse[];
}

/** The queue page's filter, each '' when not set. */
export interface ListFilter {
  name: string;
  group: string;
  label: string;
}

/** Whether any field of the filter is set. */
export function filtered(filter: ListFilter): boolean {
  return filter.name !== '' || filter.group !== '' || filter.label !== '';
}

/** A job's labels as small tags, or nothing. */
function labelTags(job: Job): Html | '' {
  const labels = job.opts.labels;
  if (labels === undefined || labels.length === 0) return '';
  return html` <span class="labels">${labels.map((label) => html`<span class="label">${label}</span>`)}</span>`;
}

function whenColumn(state: JobState): string {
  return state === 'delayed' ? 'Due' : state === 'active' ? 'Started' : state === 'completed' || state === 'failed' ? 'Finished' : 'Added';
}

function whenValue(job: Job, ctx: PageContext): string {
  const at = job.state === 'delayed' ? job.dueAt : job.state === 'active' ? job.processedOn : job.state === 'completed' || job.state === 'failed' ? job.finishedOn : job.timestamp;
  return at === undefined ? '–' : relative(at, ctx.now);
}

export function jobRows(ctx: PageContext, queue: string, list: JobList): Html {
  if (list.jobs.length === 0) return html`<tr><td colspan="7" class="empty">No ${list.state} jobs${filtered(list.filter) ? ' match' : ''}.</td></tr>`;
  return join(list.jobs.map((job) => html`<tr>
<td><a href="${jobUrl(ctx.base, queue, job.id)}">${job.id}</a></td>
<td>${job.name}${labelTags(job)}</td>
<td>${job.group ?? ''}</td>
<td>${whenValue(job, ctx)}</td>
<td class="n">${job.attemptsMade}</td>
<td><code class="preview">${preview(job.data)}</code></td>
<td class="reason">${job.state === 'failed' ? cut(job.failedReason ?? '', 200).text : ''}</td>
</tr>`));
}

/** The workers alive on a queue (queue.getWorkers()), as a table; nothing when none is. */
function workersSection(ctx: PageContext, workers: readonly WorkerInfo[]): Html {
  if (workers.length === 0) return html`<section id="workers"><h2>Workers</h2><p class="empty">No worker is alive (none sent a heartbeat in its last 3 intervals).</p></section>`;
  const rows = workers.map(
    (w) =>
      html`<tr><td><code>${w.id}</code></td><td>${w.host}</td><td class="n">${w.pid}</td><td class="n">${w.running} / ${w.concurrency}</td><td>${w.paused ? 'paused' : 'claiming'}</td><td>${relative(w.lastHeartbeat.getTime(), ctx.now)}</td></tr>`,
  );
  return html`<section id="workers"><h2>Workers</h2><table class="grid"><thead><tr><th>Worker</th><th>Host</th><th class="n">Pid</th><th class="n">Running / concurrency</th><th>State</th><th>Last heartbeat</th></tr></thead><tbody>${rows}</tbody></table></section>`;
}

export function queuePage(ctx: PageContext, name: string, m: QueueMetrics, list: JobList, history: readonly MinuteCounts[], workers: readonly WorkerInfo[] = []): Html {
  const cells = metricCells('', m);
  const base = q(ctx.base, name);
  const listUrl = (state: JobState, page = 0): string =>
    withQuery(base, { state, page: page === 0 ? undefined : page + 1, name: list.filter.name, group: list.filter.group, label: list.filter.label });
  const tabs = STATES.map((state) => html`<a href="${listUrl(state)}"${state === list.state ? html` aria-current="page"` : ''} class="state-tab">${state} <b>${live(state, cells[state])}</b></a>`);
  const first = list.page * PAGE_SIZE;
  const pages = Math.max(1, Math.ceil(list.total / PAGE_SIZE));
  const pager = html`<div class="pager">
${list.page > 0 ? html`<a href="${listUrl(list.state, list.page - 1)}" rel="prev">← newer</a>` : ''}
<span>${list.total === 0 ? '0' : `${first + 1}–${first + list.jobs.length}`} of ${count(list.total)}${list.scanned === undefined ? '' : ` matching (looked through ${count(list.scanned.looked)} ${list.filter.label === '' ? `${list.state} jobs` : 'jobs with the label'}${list.scanned.more ? ', the first ones only' : ''})`}</span>
${list.page + 1 < pages ? html`<a href="${listUrl(list.state, list.page + 1)}" rel="next">older →</a>` : ''}
</div>`;
  const ages = [['1 hour', 3_600_000], ['1 day', 86_400_000], ['7 days', 604_800_000], ['0 (all)', 0]] as const;
  const cleanFields = html`<select name="state" aria-label="state to clean"><option value="completed">completed</option><option value="failed">failed</option></select> older than <select name="age" aria-label="age">${ages.map(([label, ms]) => html`<option value="${ms}">${label}</option>`)}</select> `;
  const actions = ctx.readOnly
    ? ''
    : html`<section class="actions" aria-label="Queue actions">
${m.isPaused ? action(ctx, q(ctx.base, name, 'actions', 'resume'), 'Resume', { id: 'resume' }) : action(ctx, q(ctx.base, name, 'actions', 'pause'), 'Pause', { id: 'pause' })}
${action(ctx, q(ctx.base, name, 'actions', 'retry-failed'), 'Retry all failed', { confirm: `Send every failed job of ${name} back to waiting?`, id: 'retry-failed' })}
${action(ctx, q(ctx.base, name, 'actions', 'promote-delayed'), 'Promote all delayed', { confirm: `Run every delayed job of ${name} now?`, id: 'promote-delayed' })}
${action(ctx, q(ctx.base, name, 'actions', 'clean'), 'Clean', { confirm: 'Delete these jobs for good?', danger: true, fields: cleanFields, id: 'clean' })}
</section>`;
  const body = html`<h1>${name} <span class="badge paused" data-live="paused" data-hide-empty>${cells.paused}</span></h1>
${queueNav(ctx, name, 'jobs')}
<dl class="facts">
<div><dt>Waiting per level</dt><dd>${live('levels', cells.levels)}</dd></div>
<div><dt>Oldest waiting</dt><dd>${live('oldest', cells.oldest)}</dd></div>
<div><dt>Held by group limits</dt><dd>${live('limited', cells.limited)}</dd></div>
<div><dt>Completed / failed since created</dt><dd>${count(m.completedTotal)} / ${count(m.failedTotal)}</dd></div>
</dl>
${largeChart(history)}
${actions}
<div class="toolbar">
<form method="get" action="${base}" class="search" role="search"><input type="search" name="id" placeholder="Job id" aria-label="Find a job by id" required><button type="submit">Find</button></form>
<form method="get" action="${base}" class="filter"><input type="hidden" name="state" value="${list.state}"><input name="name" value="${list.filter.name}" placeholder="Job name" aria-label="Filter by job name"><input name="group" value="${list.filter.group}" placeholder="Group" aria-label="Filter by group"><input name="label" value="${list.filter.label}" placeholder="Label" aria-label="Filter by label" list="labels-in-use"><datalist id="labels-in-use">${(list.labels ?? []).map((l) => html`<option value="${l.label}">${l.label} (${count(l.jobs)})</option>`)}</datalist><button type="submit">Filter</button>${filtered(list.filter) ? html` <a href="${withQuery(base, { state: list.state })}">clear</a>` : ''}</form>
</div>
<nav class="states">${tabs}</nav>
<table class="grid jobs" data-list="${list.state}" data-refresh="${list.page === 0 && list.scanned === undefined ? withQuery(base, { state: list.state, partial: 'rows' }) : ''}">
<thead><tr><th>Id</th><th>Name</th><th>Group</th><th>${whenColumn(list.state)}</th><th class="n">Attempts</th><th>Data</th><th>${list.state === 'failed' ? 'Reason' : ''}</th></tr></thead>
<tbody>${jobRows(ctx, name, list)}</tbody>
</table>
${pager}
${workersSection(ctx, workers)}`;
  return layout(ctx, { title: name, crumbs: crumbs(ctx, name), body, poll: `${ctx.base}/api/queues/${encodeURIComponent(name)}` });
}

function block(title: string, text: string | undefined, limit: number, id: string): Html | '' {
  if (text === undefined) return '';
  const shown = cut(text, limit);
  return html`<section class="value" id="${id}"><h2>${title}</h2>${shown.cutFrom === undefined ? '' : html`<p class="cut">Cut for display: the first ${bytes(limit)} of ${bytes(shown.cutFrom)}.</p>`}<pre>${shown.text}</pre></section>`;
}

export interface JobView {
  job: Job;
  /** The newest log lines. */
  logs: string[];
  /** The job has older lines than these. */
  older: boolean;
  traceId: string | undefined;
  timeline: Timeline;
}

export function jobCells(job: Job): Record<string, string> {
  return {
    state: job.state,
    attempts: `${job.attemptsMade} made, ${job.attemptsStarted} started`,
    processed: timestamp(job.processedOn),
    finished: timestamp(job.finishedOn),
    progress: job.progress === undefined ? '–' : preview(job.progress),
  };
}

export function jobPage(ctx: PageContext, queue: string, view: JobView): Html {
  const { job } = view;
  const cells = jobCells(job);
  const url = jobUrl(ctx.base, queue, job.id);
  const trace = view.traceId === undefined
    ? '–'
    : ctx.traceUrl === undefined
      ? html`<code>${view.traceId}</code>`
      : html`<a href="${ctx.traceUrl.replaceAll('{traceId}', view.traceId)}" rel="noreferrer noopener" target="_blank"><code>${view.traceId}</code></a>`;
  const finished = job.state === 'failed' || job.state === 'completed';
  const actions = html`<section class="actions" aria-label="Job actions">
${finished ? action(ctx, `${url}/actions/retry`, 'Retry', { id: 'retry' }) : ''}
${finished ? '' : action(ctx, `${url}/actions/cancel`, 'Cancel', { confirm: `Cancel job ${job.id}? It fails for good${job.state === 'active' ? ' and its handler is told to stop' : ''}.`, danger: true, id: 'cancel' })}
${job.state === 'delayed' ? action(ctx, `${url}/actions/promote`, 'Promote (run now)', { id: 'promote' }) : ''}
${job.state !== 'active' ? action(ctx, `${url}/actions/remove`, 'Remove', { confirm: `Delete job ${job.id} and its logs for good?`, danger: true, id: 'remove' }) : ''}
</section>`;
  const logs = view.logs.length === 0
    ? html`<p class="empty">No log lines.</p>`
    : html`${view.older ? html`<p class="cut">The newest ${view.logs.length} lines; older ones are not shown.</p>` : ''}<pre class="logs">${view.logs.map((line) => `${cut(line, LOG_LINE_BYTES).text}\n`)}</pre>`;
  const row = (label: string, value: Fragment): Html => html`<div><dt>${label}</dt><dd>${value}</dd></div>`;
  const body = html`<h1>Job <code>${job.id}</code> ${stateBadge(job.state)}</h1>
${ctx.readOnly ? '' : actions}
<dl class="facts job">
${row('Name', job.name)}
${row('Group', job.group ?? '–')}
${row('Labels', labelTags(job) || '–')}
${row('Priority level', job.priority)}
${row('Attempts', live('attempts', cells.attempts))}
${row('Stalled', job.stalledCounter)}
${row('Progress', live('progress', cells.progress))}
${row('Added', timestamp(job.timestamp))}
${row('Processed', live('processed', cells.processed))}
${row('Finished', live('finished', cells.finished))}
${job.state === 'delayed' && job.dueAt !== undefined ? row('Due', `${timestamp(job.dueAt)} (${relative(job.dueAt, ctx.now)})`) : ''}
${row('Trace', trace)}
${row('Processed by', job.processedBy === undefined ? '–' : html`<code>${job.processedBy}</code>`)}
${row('Meta', job.meta === undefined ? '–' : html`<code>${preview(job.meta)}</code>`)}
</dl>
${block('Failed reason', job.failedReason, TEXT_BYTES, 'reason')}
${block('Stack', job.stacktrace, TEXT_BYTES, 'stack')}
${block('Data', pretty(job.data), VALUE_BYTES, 'data')}
${job.returnvalue === undefined ? '' : block('Return value', pretty(job.returnvalue), VALUE_BYTES, 'return')}
${block('Options', pretty(job.opts), VALUE_BYTES, 'options')}
<section id="logs"><h2>Logs</h2>${logs}</section>
${timelineSection(view.timeline, job.timestamp)}`;
  return layout(ctx, {
    title: `Job ${job.id}`,
    crumbs: crumbs(ctx, queue, html`job <code>${job.id}</code>`),
    body,
    poll: `${ctx.base}/api/queues/${encodeURIComponent(queue)}/jobs/${encodeURIComponent(job.id)}`,
    // A job that changes state changes what can be done with it: the page is read again.
    data: { 'reload-on': 'state', state: job.state },
  });
}

function describeSpec(spec: ScheduleInfo['spec']): string {
  const s = spec as unknown as Record<string, unknown>;
  const timing = typeof s.cron === 'string' ? `cron ${s.cron}${typeof s.tz === 'string' ? ` (${s.tz})` : ''}` : `every ${duration(Number(s.every))}`;
  const limit = typeof s.limit === 'number' ? `, ${s.limit} runs at most` : '';
  return `${timing}${limit}`;
}

export function schedulesPage(ctx: PageContext, name: string, schedules: readonly ScheduleInfo[]): Html {
  const rows = schedules.length === 0
    ? html`<tr><td colspan="6" class="empty">No schedules.</td></tr>`
    : schedules.map((s) => html`<tr>
<td><code>${s.id}</code></td>
<td>${describeSpec(s.spec)}</td>
<td>${s.job.name} <code class="preview">${preview(s.job.data)}</code></td>
<td>${s.next === null ? 'ended' : html`${timestamp(s.next.getTime())} <small>(${relative(s.next.getTime(), ctx.now)})</small>`}</td>
<td class="n">${count(s.runs)}</td>
<td class="row-actions">${action(ctx, q(ctx.base, name, 'schedules', s.id, 'actions', 'run'), 'Run now')}${action(ctx, q(ctx.base, name, 'schedules', s.id, 'actions', 'remove'), 'Remove', { confirm: `Remove schedule ${s.id}? Jobs it already enqueued stay.`, danger: true })}</td>
</tr>`);
  const body = html`<h1>${name}</h1>
${queueNav(ctx, name, 'schedules')}
<table class="grid">
<thead><tr><th>Id</th><th>When</th><th>Job</th><th>Next run</th><th class="n">Runs</th><th></th></tr></thead>
<tbody>${rows}</tbody>
</table>
<p class="hint">Schedules fire from every Worker of the queue and from Schedulers. Run now adds the schedule's job at once (its id is <code>&lt;schedule&gt;:now:&lt;ms&gt;</code>) and leaves its next run and its count of runs as they are.</p>`;
  return layout(ctx, { title: `${name} schedules`, crumbs: crumbs(ctx, name, 'schedules'), body });
}

function rule(limit: GroupLimit | undefined): string {
  if (limit === undefined) return 'none';
  const parts: string[] = [];
  if (limit.max !== undefined && limit.duration !== undefined) {
    parts.push(`${limit.max} per ${duration(limit.duration)}${limit.smooth === true ? `, smooth (burst ${limit.burst ?? 1})` : ''}`);
  }
  if (limit.concurrency !== undefined) parts.push(`${limit.concurrency} at once`);
  return parts.join(', ') || 'none';
}

export interface GroupsView {
  window: RateWindow;
  rules: Map<string, GroupLimit>;
  held: LimitedGroups;
  lookup?: { group: string; status: GroupStatus };
}

export function groupsPage(ctx: PageContext, name: string, view: GroupsView): Html {
  const { window, rules, held } = view;
  const queueLimit = window.limit === null
    ? html`<p>No queue-wide limit.</p>`
    : window.limit.smooth === true
      ? html`<p>At most <b>${window.limit.max}</b> jobs start per <b>${duration(window.limit.duration)}</b>, smooth: spaced ${duration(window.limit.duration / window.limit.max)} apart, up to <b>${window.limit.burst ?? 1}</b> at once.</p>`
      : html`<p>At most <b>${window.limit.max}</b> jobs start per <b>${duration(window.limit.duration)}</b>; <b>${window.started}</b> started in the current window.</p>`;
  const hold = window.heldUntil === null ? '' : html`<p>A RateLimitError holds the whole queue until ${timestamp(window.heldUntil.getTime())} (${relative(window.heldUntil.getTime(), ctx.now)}).</p>`;
  const own = [...rules.entries()].filter(([group]) => group !== '').sort(([a], [b]) => a.localeCompare(b));
  const rulesTable = html`<table class="grid"><thead><tr><th>Group</th><th>Rule</th></tr></thead><tbody>
<tr><td><i>every group (default)</i></td><td>${rule(rules.get(''))}</td></tr>
${own.map(([group, limit]) => html`<tr><td>${group}</td><td>${rule(limit)}</td></tr>`)}
</tbody></table>`;
  const more = (shown: number, total: number): Html | '' => (total > shown ? html`<p class="cut">${shown} of ${count(total)} shown.</p>` : '');
  const throttled = held.throttled.length === 0
    ? html`<p class="empty">No throttled group.</p>`
    : html`<table class="grid"><thead><tr><th>Group</th><th>Free again</th><th class="n">Waiting</th><th class="n">Running</th></tr></thead><tbody>${held.throttled.map((g) => html`<tr><td>${g.group}</td><td>${relative(g.until.getTime(), ctx.now)}</td><td class="n">${g.waiting}</td><td class="n">${g.active}</td></tr>`)}</tbody></table>${more(held.throttled.length, held.throttledTotal)}`;
  const full = held.full.length === 0
    ? html`<p class="empty">No group at its concurrency limit.</p>`
    : html`<table class="grid"><thead><tr><th>Group</th><th class="n">Waiting</th><th class="n">Running</th></tr></thead><tbody>${held.full.map((g) => html`<tr><td>${g.group}</td><td class="n">${g.waiting}</td><td class="n">${g.active}</td></tr>`)}</tbody></table>${more(held.full.length, held.fullTotal)}`;
  const lookup = view.lookup === undefined
    ? ''
    : html`<p class="lookup">Group <b>${view.lookup.group}</b>: ${view.lookup.status.state}, ${view.lookup.status.waiting} waiting, ${view.lookup.status.active} running; rule: ${rule(rules.get(view.lookup.group) ?? rules.get(''))}${rules.has(view.lookup.group) ? '' : ' (the default)'}.</p>`;
  const body = html`<h1>${name}</h1>
${queueNav(ctx, name, 'groups')}
<section><h2>Queue-wide limit</h2>${queueLimit}${hold}</section>
<section><h2>Group rules</h2>${rulesTable}</section>
<section><h2>Groups held back now</h2>
<p>${count(held.withWork)} group${held.withWork === 1 ? ' has' : 's have'} waiting jobs; ${count(held.throttledTotal)} throttled, ${count(held.fullTotal)} full.</p>
<h3>Throttled (rate window or RateLimitError hold)</h3>${throttled}
<h3>Full (concurrency)</h3>${full}
</section>
<section><h2>Look up a group</h2>
<form method="get" action="${q(ctx.base, name, 'groups')}" class="search"><input name="group" placeholder="Group" aria-label="Group name" required value="${view.lookup?.group ?? ''}"><button type="submit">Look up</button></form>
${lookup}
</section>`;
  return layout(ctx, { title: `${name} groups`, crumbs: crumbs(ctx, name, 'groups & limits'), body });
}

export function messagePage(ctx: PageContext, title: string, message: string, back?: string): Html {
  return layout(ctx, { title, crumbs: html`<span>${title}</span>`, body: html`<section class="message"><h1>${title}</h1><p>${message}</p>${back === undefined ? '' : html`<p><a href="${back}">Back</a></p>`}</section>` });
}

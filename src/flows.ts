import { ValidationError } from './errors.js';
import { Job, type JobOwner } from './job.js';
import { MAX_TRACE_LINKS, type JobOptions, type StoredJobOptions } from './options.js';
import type { StoredTraceContext } from './telemetry/trace-context.js';
import type { ProducerSpans } from './telemetry/tracing.js';
import { Status } from './redis/status.js';
import type { AddInput, FlowInput } from './redis/store.js';
export type { DependencyOutcome } from './dependencies.js';

/**
 * Jobs that wait for other jobs: `queue.add(name, data, { dependsOn })` for jobs that exist, and
 * `queue.addFlow()` for a whole graph in one script call, all or none (lua/add-flow.lua). A job with
 * dependencies waits `blocked` until every one of them ended; the settle that ends the last one makes it
 * waiting in the same script (lua/includes/dependents.lua). Queue keeps the methods; the logic is here.
 */

/** What a dependency that fails for good (or is removed) does to the job waiting for it. */
export type DependencyFailurePolicy = 'fail' | 'ignore' | 'remove';

/** A job enqueued exactly once when the job (or flow) it is attached to fails for good. */
export interface OnFailureJob<Data = unknown> {
  name: string;
  data: Data;
  opts?: JobOptions;
}

/** The job options this module handles (JobOptions declares them for users). */
type FlowOptions = Pick<JobOptions, 'dependsOn' | 'onDependencyFailure' | 'onFailure'>;

export interface FlowJob<Data = unknown> {
  /** The job's name within the flow: unique in it, what dependsOn and getDependencies() use. */
  key: string;
  name: string;
  data: Data;
  opts?: JobOptions;
  /** Keys of jobs of this flow that must end first. */
  dependsOn?: string[];
}

export interface Flow<Data = unknown> {
  jobs: FlowJob<Data>[];
  /** Enqueued exactly once, when the first job of the flow fails for good; deleted once all ended otherwise. */
  onFailure?: OnFailureJob;
}

export interface AddedFlow<Data = unknown, Result = unknown> {
  /** Each job by its key, as written (a snapshot: `blocked`, or `waiting` for a job without dependencies). */
  jobs: Record<string, Job<Data, Result>>;
  onFailure: Job | undefined;
}

/** At most this many jobs per addFlow call (onFailure jobs included): the script's writes stay near a few ms. */
export const MAX_FLOW_JOBS = 1000;
/** At most this many dependencies in one addFlow call (an onFailure job of the flow has one per job). */
export const MAX_FLOW_DEPENDENCIES = 10_000;
/** At most this many jobs may wait for one job: its end touches each of them in one script. */
export const MAX_DEPENDENTS = 1000;

const FLOW_OPTION_NAMES = ['dependsOn', 'onDependencyFailure', 'onFailure'] as const;
const POLICIES = new Set<string>(['fail', 'ignore', 'remove']);

/** Whether `opts` has an option this module handles (a plain add sends it here). */
export function hasFlowOptions(opts: object): boolean {
  for (const name of FLOW_OPTION_NAMES) if (name in opts) return true;
  return false;
}

/** What Flows needs of its Queue. */
export interface FlowHost extends JobOwner {
  readonly name: string;
  /**
   * A job validated and encoded as add() does it (ValidationError, PayloadTooLargeError), with its creation
   * context and its dependencies' (`links`) stored when tracing is on.
   */
  prepare(name: unknown, data: unknown, opts: JobOptions | undefined, trace: StoredTraceContext | undefined, links: StoredTraceContext[] | undefined): { input: AddInput; stored: StoredJobOptions };
  /** The producer spans of an add call (telemetry/tracing.ts). */
  readonly spans: ProducerSpans;
  /** The queue created or checked, as before an add. */
  ready(): Promise<void>;
}

/** One job on its way to the script, with what the reply needs to make its Job. */
interface Planned {
  key: string;
  name: unknown;
  opts: JobOptions | undefined;
  input: AddInput;
  stored: StoredJobOptions;
  data: unknown;
  policy: FlowInput['policy'];
  /** Local deps by index into the plan, then existing ids. */
  local: number[];
  external: string[];
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function stringList(what: string, value: unknown, max: number): string[] {
  if (!Array.isArray(value)) throw new ValidationError(`${what} must be an array of strings, got ${typeof value}`);
  if (value.length > max) throw new ValidationError(`${what} has ${value.length} entries; at most ${max} are allowed`);
  const out = new Set<string>();
  for (const item of value) {
    if (typeof item !== 'string' || item.length === 0 || item.length > 256) {
      throw new ValidationError(`${what} must hold strings of 1 to 256 characters, got ${JSON.stringify(item)}`);
    }
    out.add(item);
  }
  return [...out];
}

/** Splits a job's options into the ordinary ones and the flow's, checking the flow's. */
function splitOptions(what: string, opts: JobOptions | undefined): { rest: JobOptions | undefined; flow: FlowOptions } {
  if (opts === undefined) return { rest: undefined, flow: {} };
  if (!isObject(opts)) throw new ValidationError(`${what}: job options must be an object, got ${typeof opts}`);
  const { dependsOn, onDependencyFailure, onFailure, ...rest } = opts;
  const flow: FlowOptions = {};
  if (dependsOn !== undefined) flow.dependsOn = stringList(`${what}: dependsOn`, dependsOn, MAX_FLOW_JOBS);
  if (onDependencyFailure !== undefined) {
    if (typeof onDependencyFailure !== 'string' || !POLICIES.has(onDependencyFailure)) {
      throw new ValidationError(`${what}: onDependencyFailure must be 'fail', 'ignore' or 'remove', got ${JSON.stringify(onDependencyFailure)}`);
    }
    flow.onDependencyFailure = onDependencyFailure as DependencyFailurePolicy;
  }
  if (onFailure !== undefined) flow.onFailure = onFailureJob(`${what}: onFailure`, onFailure);
  if (rest.delay !== undefined || rest.runAt !== undefined) {
    if (flow.dependsOn !== undefined) {
      throw new ValidationError(`${what}: a job with dependsOn cannot also have delay or runAt; it becomes waiting when its dependencies end`);
    }
  }
  return { rest: Object.keys(rest).length === 0 ? undefined : rest, flow };
}

function onFailureJob(what: string, value: unknown): OnFailureJob {
  if (!isObject(value)) throw new ValidationError(`${what} must be { name, data, opts? }, got ${typeof value}`);
  if (isObject(value.opts) && hasFlowOptions(value.opts)) {
    throw new ValidationError(`${what}: an onFailure job cannot have dependsOn, onDependencyFailure or onFailure of its own`);
  }
  if (isObject(value.opts) && (value.opts.delay !== undefined || value.opts.runAt !== undefined)) {
    throw new ValidationError(`${what}: an onFailure job cannot have delay or runAt; it becomes waiting when the failure happens`);
  }
  return value as unknown as OnFailureJob;
}

/**
 * The order the script takes (each job after the jobs of the flow it depends on), by Kahn's algorithm;
 * ValidationError naming a cycle when there is one. O(jobs + dependencies).
 */
export function flowOrder(keys: readonly string[], deps: readonly (readonly number[])[]): number[] {
  const waiting = deps.map((list) => list.length);
  const dependents: number[][] = keys.map(() => []);
  deps.forEach((list, i) => list.forEach((d) => dependents[d]?.push(i)));
  const order: number[] = [];
  for (let i = 0; i < keys.length; i++) if (waiting[i] === 0) order.push(i);
  for (let at = 0; at < order.length; at++) {
    for (const d of dependents[order[at] as number] ?? []) {
      waiting[d] = (waiting[d] as number) - 1;
      if (waiting[d] === 0) order.push(d);
    }
  }
  if (order.length === keys.length) return order;
  // Walk back from a job left waiting until a job repeats: that walk is a cycle.
  const left = new Set(keys.map((_, i) => i).filter((i) => (waiting[i] as number) > 0));
  let at = left.values().next().value as number;
  const path: number[] = [];
  const seen = new Map<number, number>();
  while (!seen.has(at)) {
    seen.set(at, path.length);
    path.push(at);
    at = (deps[at] as number[]).find((d) => left.has(d)) as number;
  }
  const cycle = path.slice(seen.get(at)).reverse();
  throw new ValidationError(`the flow has a cycle: ${[...cycle, cycle[0] as number].map((i) => `'${keys[i] as string}'`).join(' -> ')}; nothing was written`);
}

export class Flows {
  readonly #host: FlowHost;

  constructor(host: FlowHost) {
    this.#host = host;
  }

  /** queue.add with dependsOn, onDependencyFailure or onFailure: a flow of the job (and its onFailure job). */
  async add(name: string, data: unknown, opts: JobOptions): Promise<Job> {
    const { rest, flow } = splitOptions('add', opts);
    if (flow.onDependencyFailure !== undefined && flow.dependsOn === undefined) {
      throw new ValidationError('add: onDependencyFailure needs dependsOn (the jobs whose failure it is about)');
    }
    const planned: Planned[] = [this.#plan('add', '', name, data, rest, flow, [])];
    if (flow.onFailure !== undefined) planned.push(this.#onFailure('add: onFailure', flow.onFailure, [0]));
    const jobs = await this.#write(planned, true);
    return jobs[0] as Job;
  }

  async addFlow(flow: Flow): Promise<AddedFlow> {
    if (!isObject(flow) || !Array.isArray(flow.jobs)) throw new ValidationError('addFlow takes { jobs: [{ key, name, data, opts?, dependsOn? }], onFailure? }');
    const given = flow.jobs as unknown[];
    if (given.length === 0) throw new ValidationError('addFlow: a flow needs at least one job');
    const index = new Map<string, number>();
    given.forEach((job, i) => {
      if (!isObject(job)) throw new ValidationError(`addFlow: job ${i} is not an object`);
      const { key } = job;
      if (typeof key !== 'string' || key.length === 0 || key.length > 256) throw new ValidationError(`addFlow: job ${i} needs a key, a string of 1 to 256 characters`);
      if (index.has(key)) throw new ValidationError(`addFlow: key '${key}' is used by two jobs; keys name jobs within a flow`);
      index.set(key, i);
    });
    const jobs = given as FlowJob[];
    const local = jobs.map((job) => {
      if (job.dependsOn === undefined) return [];
      return stringList(`addFlow: job '${job.key}' dependsOn`, job.dependsOn, MAX_FLOW_JOBS).map((key) => {
        const at = index.get(key);
        if (at === undefined) throw new ValidationError(`addFlow: job '${job.key}' depends on '${key}', which is no key of this flow; use opts.dependsOn for existing jobs`);
        if (key === job.key) throw new ValidationError(`addFlow: job '${key}' depends on itself`);
        return at;
      });
    });
    const order = flowOrder(jobs.map((job) => job.key), local);
    const planned: Planned[] = [];
    const placed = new Map<number, number>();
    const onFailures: Planned[] = [];
    for (const i of order) {
      const job = jobs[i] as FlowJob;
      const what = `addFlow: job '${job.key}'`;
      const { rest, flow: options } = splitOptions(what, job.opts);
      if ((options.dependsOn !== undefined || (local[i] as number[]).length > 0) && (rest?.delay !== undefined || rest?.runAt !== undefined)) {
        throw new ValidationError(`${what}: a job with dependencies cannot also have delay or runAt; it becomes waiting when they end`);
      }
      const at = planned.length;
      placed.set(i, at);
      planned.push(this.#plan(what, job.key, job.name, job.data, rest, options, (local[i] as number[]).map((d) => placed.get(d) as number)));
      if (options.onFailure !== undefined) onFailures.push(this.#onFailure(`${what}: onFailure`, options.onFailure, [at]));
    }
    planned.push(...onFailures);
    let onFailure: Planned | undefined;
    if (flow.onFailure !== undefined) {
      onFailure = this.#onFailure('addFlow: onFailure', onFailureJob('addFlow: onFailure', flow.onFailure), jobs.map((_, i) => placed.get(i) as number));
      planned.push(onFailure);
    }
    if (planned.length > MAX_FLOW_JOBS) {
      throw new ValidationError(`addFlow: the flow has ${planned.length} jobs (onFailure jobs included); at most ${MAX_FLOW_JOBS} are allowed`);
    }
    const edges = planned.reduce((sum, p) => sum + p.local.length + p.external.length, 0);
    if (edges > MAX_FLOW_DEPENDENCIES) {
      throw new ValidationError(`addFlow: the flow has ${edges} dependencies (an onFailure job of the flow counts one per job); at most ${MAX_FLOW_DEPENDENCIES} are allowed`);
    }
    const added = await this.#write(planned, false);
    const byKey: Record<string, Job> = {};
    order.forEach((i, n) => (byKey[(jobs[i] as FlowJob).key] = added[n] as Job));
    return { jobs: byKey, onFailure: onFailure === undefined ? undefined : added[added.length - 1] };
  }

  #plan(what: string, key: string, name: unknown, data: unknown, rest: JobOptions | undefined, flow: FlowOptions, local: number[]): Planned {
    const external = flow.dependsOn ?? [];
    if (flow.onDependencyFailure !== undefined && external.length === 0 && local.length === 0) {
      throw new ValidationError(`${what}: onDependencyFailure needs dependencies`);
    }
    // Checked now, so a bad job is refused before the others are encoded; encoded again, traced, in #write.
    const { input, stored } = this.#host.prepare(name, data, rest, undefined, undefined);
    return { key, name, opts: rest, input, stored, data, policy: flow.onDependencyFailure ?? 'fail', local, external };
  }

  #onFailure(what: string, job: OnFailureJob, watched: number[]): Planned {
    const { input, stored } = this.#host.prepare(job.name, job.data, job.opts, undefined, undefined);
    if (input.delay >= 0 || input.runAt >= 0) throw new ValidationError(`${what}: an onFailure job cannot have delay or runAt`);
    return { key: `onFailure`, name: job.name, opts: job.opts, input, stored, data: job.data, policy: 'onfail', local: watched, external: [] };
  }

  /** One add-flow call; `duplicateIsJob`: a jobId that exists answers with that job (add), not a refusal. */
  async #write(planned: Planned[], duplicateIsJob: boolean): Promise<Job[]> {
    const host = this.#host;
    const jobIds = new Set<string>();
    for (const p of planned) {
      if (p.input.jobId === '') continue;
      if (jobIds.has(p.input.jobId)) throw new ValidationError(`jobId '${p.input.jobId}' is given to two jobs of one flow`);
      jobIds.add(p.input.jobId);
    }
    const spans = host.spans.start(planned.length);
    try {
      const jobs = await this.#send(planned, duplicateIsJob, (index) => spans.traceContext(index));
      spans.end(jobs);
      return jobs;
    } catch (error) {
      spans.end(undefined, error);
      throw error;
    }
  }

  async #send(planned: Planned[], duplicateIsJob: boolean, traceContext: (index: number) => StoredTraceContext | undefined): Promise<Job[]> {
    const host = this.#host;
    // With an SDK recording, each job stores its creation context and its dependencies' (process spans link
    // to them); without one, the jobs as #plan encoded them.
    const traces = planned.map((_, n) => traceContext(n));
    if (traces.some((t) => t !== undefined)) {
      planned.forEach((p, n) => {
        const links = p.local.slice(0, MAX_TRACE_LINKS).map((d) => traces[d]).filter((t): t is StoredTraceContext => t !== undefined);
        ({ input: p.input, stored: p.stored } = host.prepare(p.name, p.data, p.opts, traces[n], links.length > 0 ? links : undefined));
      });
    }
    const inputs: FlowInput[] = planned.map((p) => ({
      key: p.key,
      jobId: p.input.jobId,
      name: p.input.name,
      data: p.input.data,
      opts: p.input.opts,
      prio: p.input.prio,
      grp: p.input.group,
      policy: p.policy,
      deps: [...p.local.map((n) => `L${n + 1}`), ...p.external.map((id) => `E${id}`)],
    }));
    await host.ready();
    const reply = await host.store.addFlow(inputs, MAX_DEPENDENTS);
    if ('refused' in reply) {
      const { refused, detail } = reply;
      if (refused === Status.DUPLICATE && duplicateIsJob && planned[0]?.input.jobId === detail) {
        const existing = await host.store.getJob(detail);
        if (existing !== null) return [Job.fromStored(host, existing)];
      }
      throw new ValidationError(refusal(host.name, refused, detail));
    }
    const now = Date.now();
    return reply.ids.map((id, n) => {
      const p = planned[n] as Planned;
      const blocked = p.local.length + p.external.length > 0;
      return new Job(host, {
        id,
        name: p.input.name,
        data: p.data,
        opts: p.stored,
        priority: p.input.prio,
        attemptsMade: 0,
        attemptsStarted: 0,
        timestamp: now,
        state: blocked ? 'blocked' : 'waiting',
      });
    });
  }
}

function refusal(queue: string, status: number, detail: string): string {
  switch (status) {
    case Status.JOB_MISSING:
      return `dependsOn: job '${detail}' does not exist in queue '${queue}' (never added, removed, or deleted by retention); nothing was written`;
    case Status.DUPLICATE:
      return `jobId '${detail}' exists already in queue '${queue}'; nothing of the flow was written`;
    case Status.TOO_MANY_DEPENDENTS:
      return `job '${detail}' would have more than ${MAX_DEPENDENTS} dependents; nothing was written. Put a job between them (it depends on '${detail}', the others on it)`;
    case Status.LEVELS_MISMATCH:
      return `job ${detail} of the flow has a priority that is not a level of queue '${queue}'; nothing was written`;
    default:
      return `add-flow refused the flow with status ${status}; nothing was written`;
  }
}

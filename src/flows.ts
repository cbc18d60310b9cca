import { ValidationError } from './errors.js';
import { Job, type JobOwner } from './job.js';
import { MAX_TRACE_LINKS, type JobOptions, type OnFailureJob, type StoredJobOptions } from './options.js';
import type { StoredTraceContext } from './telemetry/trace-context.js';
import type { ProducerSpans } from './telemetry/tracing.js';
import { Status } from './redis/status.js';
import type { AddInput, FlowInput, QueueStore } from './redis/store.js';
import { FlowRelay } from './flows-relay.js';
import { writeAcrossSlots, type SlotJob, type SlotReply } from './flows-across-slots.js';
import { validateQueueName } from './keys.js';
export type { DependencyOutcome } from './dependencies.js';

/**
 * Jobs that wait for other jobs: `queue.add(name, data, { dependsOn })` for jobs that exist, and
 * `queue.addFlow()` for a whole graph in one script call, all or none (lua/add-flow.lua). A job with
 * dependencies waits `blocked` until every one of them ended; the settle that ends the last one makes it
 * waiting in the same script (lua/includes/dependents.lua). Queue keeps the methods; the logic is here.
 */

/** What a dependency that fails for good (or is removed) does to the job waiting for it. */
export type DependencyFailurePolicy = 'fail' | 'ignore' | 'remove';

/** The job options this module handles (JobOptions declares them for users). */
type FlowOptions = Pick<JobOptions, 'dependsOn' | 'onDependencyFailure' | 'onFailure'>;

/** One job of a flow ({@link Queue.addFlow}). */
export interface FlowJob<Data = unknown> {
  /** The job's name within the flow: unique in it, what dependsOn and getDependencies() use. */
  key: string;
  /**
   * Another queue of the same prefix to add this job to. On one Redis the whole flow is one atomic write; on
   * a Redis Cluster each queue's part is (docs/guide/workflows.md). The job takes this Queue's
   * defaultJobOptions.
   *
   * @defaultValue the Queue's own queue
   */
  queue?: string;
  /** The job's name, 1 to 256 characters. */
  name: string;
  /** The job's data. */
  data: Data;
  /**
   * The job's options, the workflow ones included (`opts.dependsOn` names existing jobs).
   *
   * @defaultValue the Queue's `defaultJobOptions`
   */
  opts?: JobOptions;
  /**
   * Keys of jobs of this flow that must end first.
   *
   * @defaultValue none
   */
  dependsOn?: string[];
}

/** What {@link Queue.addFlow} takes: jobs that depend on each other, written all or none. */
export interface Flow<Data = unknown> {
  /** The flow's jobs, 1 to MAX_FLOW_JOBS, in any order (the order they run in follows dependsOn). */
  jobs: FlowJob<Data>[];
  /**
   * Enqueued exactly once, when the first job of the flow fails for good; deleted once all ended otherwise.
   *
   * @defaultValue none
   */
  onFailure?: OnFailureJob;
}

/** What {@link Queue.addFlow} resolves with. */
export interface AddedFlow<Data = unknown, Result = unknown> {
  /** Each job by its key, as written (a snapshot: `blocked`, or `waiting` for a job without dependencies). */
  jobs: Record<string, Job<Data, Result>>;
  /** The flow's onFailure job (`blocked` until a job of the flow fails for good), when it has one. */
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
   * context and its dependencies' (`links`) stored when tracing is on; `levels`: those of the job's queue
   * when it is another queue's; `passes`: jobs of the flow wait for it (options.ts TRACE_PASS_KEY).
   */
  prepare(
    name: unknown,
    data: unknown,
    opts: JobOptions | undefined,
    trace: StoredTraceContext | undefined,
    links: StoredTraceContext[] | undefined,
    levels: number | undefined,
    passes?: boolean,
  ): { input: AddInput; stored: StoredJobOptions };
  /** The producer spans of an add call (telemetry/tracing.ts). */
  readonly spans: ProducerSpans;
  /** The queue created or checked, as before an add. */
  ready(): Promise<void>;
  /** Another queue of the prefix: its priority levels (null: it does not exist), and an owner for its Jobs. */
  levelsOf(queue: string): Promise<number | null>;
  ownerFor(queue: string, levels: number): JobOwner;
  /** The connection is a Redis Cluster, where no script may touch two queues: src/flows-across-slots.ts. */
  readonly clustered: boolean;
}

/** One job on its way to the script, with what the reply needs to make its Job. */
interface Planned {
  key: string;
  /** '' for the Queue's own queue. */
  queue: string;
  name: unknown;
  data: unknown;
  opts: JobOptions | undefined;
  policy: FlowInput['policy'];
  /** Dependencies among the jobs of the call, by index into the plan. */
  local: number[];
  /** Existing jobs, by queue ('' for the Queue's own) and id. */
  external: { queue: string; id: string }[];
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function idString(what: string, item: unknown): string {
  if (typeof item !== 'string' || item.length === 0 || item.length > 256) {
    throw new ValidationError(`${what} must hold strings of 1 to 256 characters, got ${JSON.stringify(item)}`);
  }
  return item;
}

function stringList(what: string, value: unknown, max: number): string[] {
  if (!Array.isArray(value)) throw new ValidationError(`${what} must be an array of strings, got ${typeof value}`);
  if (value.length > max) throw new ValidationError(`${what} has ${value.length} entries; at most ${max} are allowed`);
  return [...new Set(value.map((item: unknown) => idString(what, item)))];
}

/** dependsOn of existing jobs: ids of this queue, or { queue, id } of another; '' stands for this queue. */
function dependencyList(what: string, value: unknown, own: string): { queue: string; id: string }[] {
  if (!Array.isArray(value)) throw new ValidationError(`${what} must be an array of job ids (or { queue, id }), got ${typeof value}`);
  if (value.length > MAX_FLOW_JOBS) throw new ValidationError(`${what} has ${value.length} entries; at most ${MAX_FLOW_JOBS} are allowed`);
  const out = new Map<string, { queue: string; id: string }>();
  for (const item of value as unknown[]) {
    let ref: { queue: string; id: string };
    if (isObject(item)) {
      const queue = validateQueueName(item.queue);
      ref = { queue: queue === own ? '' : queue, id: idString(what, item.id) };
    } else {
      ref = { queue: '', id: idString(what, item) };
    }
    out.set(`${ref.queue}\n${ref.id}`, ref);
  }
  return [...out.values()];
}

/** Splits a job's options into the ordinary ones and the flow's, checking the flow's. */
function splitOptions(what: string, opts: JobOptions | undefined): { rest: JobOptions | undefined; flow: FlowOptions } {
  if (opts === undefined) return { rest: undefined, flow: {} };
  if (!isObject(opts)) throw new ValidationError(`${what}: job options must be an object, got ${typeof opts}`);
  const { dependsOn, onDependencyFailure, onFailure, ...rest } = opts;
  const flow: FlowOptions = {};
  // Checked by dependencyList (#plan), which knows the Queue's own name.
  if (dependsOn !== undefined) flow.dependsOn = dependsOn as FlowOptions['dependsOn'];
  if (onDependencyFailure !== undefined) {
    if (typeof onDependencyFailure !== 'string' || !POLICIES.has(onDependencyFailure)) {
      throw new ValidationError(`${what}: onDependencyFailure must be 'fail', 'ignore' or 'remove', got ${JSON.stringify(onDependencyFailure)}`);
    }
    flow.onDependencyFailure = onDependencyFailure as DependencyFailurePolicy;
  }
  if (onFailure !== undefined) flow.onFailure = onFailureJob(`${what}: onFailure`, onFailure);
  if (rest.dedupe !== undefined) {
    throw new ValidationError(`${what}: dedupe cannot be combined with dependsOn, onDependencyFailure or onFailure (a flow's jobs are added as written); give a jobId for idempotency`);
  }
  // A flow's jobs are written by add-flow.lua, which keeps no label index (lua/includes/labels.lua).
  if (rest.labels !== undefined) throw new ValidationError(`${what}: a job of a flow (or with dependsOn or onFailure) cannot have labels yet; add it with add() to label it`);
  return { rest: Object.keys(rest).length === 0 ? undefined : rest, flow };
}

function onFailureJob(what: string, value: unknown): OnFailureJob {
  if (!isObject(value)) throw new ValidationError(`${what} must be { name, data, opts? }, got ${typeof value}`);
  if (isObject(value.opts) && hasFlowOptions(value.opts)) {
    throw new ValidationError(`${what}: an onFailure job cannot have dependsOn, onDependencyFailure or onFailure of its own`);
  }
  if (isObject(value.opts) && value.opts.dedupe !== undefined) throw new ValidationError(`${what}: an onFailure job cannot have dedupe`);
  if (isObject(value.opts) && value.opts.labels !== undefined) throw new ValidationError(`${what}: an onFailure job cannot have labels yet`);
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
  /** On a Cluster, for flows across queues: made on the first. */
  #relay: FlowRelay | undefined;

  constructor(host: FlowHost) {
    this.#host = host;
  }

  /** queue.add with dependsOn, onDependencyFailure or onFailure: a flow of the job (and its onFailure job). */
  async add(name: string, data: unknown, opts: JobOptions): Promise<Job> {
    const { rest, flow } = splitOptions('add', opts);
    if (flow.onDependencyFailure !== undefined && flow.dependsOn === undefined) {
      throw new ValidationError('add: onDependencyFailure needs dependsOn (the jobs whose failure it is about)');
    }
    const planned: Planned[] = [this.#plan('add', '', '', name, data, rest, flow, [])];
    if (flow.onFailure !== undefined) planned.push(this.#onFailure(flow.onFailure, [0]));
    const jobs = await this.#write(planned, true);
    return jobs[0] as Job;
  }

  async addFlow(flow: Flow): Promise<AddedFlow> {
    if (!isObject(flow) || !Array.isArray(flow.jobs)) throw new ValidationError('addFlow takes { jobs: [{ key, name, data, opts?, dependsOn?, queue? }], onFailure? }');
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
      const queue = job.queue === undefined ? '' : validateQueueName(job.queue);
      const { rest, flow: options } = splitOptions(what, job.opts);
      const at = planned.length;
      placed.set(i, at);
      planned.push(this.#plan(what, job.key, queue, job.name, job.data, rest, options, (local[i] as number[]).map((d) => placed.get(d) as number)));
      if (options.onFailure !== undefined) onFailures.push(this.#onFailure(options.onFailure, [at]));
    }
    planned.push(...onFailures);
    let onFailure: Planned | undefined;
    if (flow.onFailure !== undefined) {
      onFailure = this.#onFailure(onFailureJob('addFlow: onFailure', flow.onFailure), jobs.map((_, i) => placed.get(i) as number));
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

  #plan(what: string, key: string, queue: string, name: unknown, data: unknown, rest: JobOptions | undefined, flow: FlowOptions, local: number[]): Planned {
    const own = this.#host.name;
    const external = flow.dependsOn === undefined ? [] : dependencyList(`${what}: dependsOn`, flow.dependsOn, own);
    if (flow.onDependencyFailure !== undefined && external.length === 0 && local.length === 0) {
      throw new ValidationError(`${what}: onDependencyFailure needs dependencies`);
    }
    if ((external.length > 0 || local.length > 0) && (rest?.delay !== undefined || rest?.runAt !== undefined)) {
      throw new ValidationError(`${what}: a job with dependencies cannot also have delay or runAt; it becomes waiting when they end`);
    }
    return { key, queue: queue === own ? '' : queue, name, data, opts: rest, policy: flow.onDependencyFailure ?? 'fail', local, external };
  }

  /** An onFailure job: in the Queue's own queue, watching the jobs at `watched`. */
  #onFailure(job: OnFailureJob, watched: number[]): Planned {
    return { key: 'onFailure', queue: '', name: job.name, data: job.data, opts: job.opts, policy: 'onfail', local: watched, external: [] };
  }

  /** One add-flow call; `duplicateIsJob`: a jobId that exists answers with that job (add), not a refusal. */
  async #write(planned: Planned[], duplicateIsJob: boolean): Promise<Job[]> {
    const host = this.#host;
    // Other queues: on one Redis the script writes their keys too; a Cluster keeps them on other masters,
    // so the flow goes as one part per run of jobs of one queue (src/flows-across-slots.ts).
    const others = [...new Set([...planned.map((p) => p.queue), ...planned.flatMap((p) => p.external.map((e) => e.queue))].filter((q) => q !== ''))];
    const levels = new Map<string, number>();
    for (const queue of others) {
      const found = await host.levelsOf(queue);
      if (found === null) throw new ValidationError(`queue '${queue}' of this prefix does not exist: a Queue's first add or a Worker creates it; nothing was written`);
      levels.set(queue, found);
    }
    const spans = host.spans.start(planned.length);
    try {
      // Encoded with each job's creation context when tracing is on, and its flow dependencies' (its
      // process span links to them); a job others wait for is marked to pass its process span's on.
      const traces = planned.map((_, n) => spans.traceContext(n));
      const waitedFor = new Set(planned.flatMap((p) => p.local));
      const prepared = planned.map((p, n) => {
        const links = traces[n] === undefined ? [] : p.local.slice(0, MAX_TRACE_LINKS).map((d) => traces[d]).filter((t): t is StoredTraceContext => t !== undefined);
        const passes = traces[n] !== undefined && waitedFor.has(n);
        return host.prepare(p.name, p.data, p.opts, traces[n], links.length > 0 ? links : undefined, p.queue === '' ? undefined : levels.get(p.queue), passes);
      });
      const jobIds = new Set<string>();
      prepared.forEach(({ input }, n) => {
        if (input.jobId === '') return;
        const named = `${(planned[n] as Planned).queue}\n${input.jobId}`;
        if (jobIds.has(named)) throw new ValidationError(`jobId '${input.jobId}' is given to two jobs of one flow`);
        jobIds.add(named);
      });
      const jobs = await this.#send(planned, prepared, duplicateIsJob, levels);
      spans.end(jobs);
      return jobs;
    } catch (error) {
      spans.end(undefined, error);
      throw error;
    }
  }

  async #send(planned: Planned[], prepared: { input: AddInput; stored: StoredJobOptions }[], duplicateIsJob: boolean, levels: Map<string, number>): Promise<Job[]> {
    const host = this.#host;
    const inputs: FlowInput[] = planned.map((p, n) => {
      const { input } = prepared[n] as { input: AddInput };
      return {
        key: p.key,
        queue: p.queue,
        jobId: input.jobId,
        name: input.name,
        data: input.data,
        opts: input.opts,
        prio: input.prio,
        grp: input.group,
        policy: p.policy,
        deps: [...p.local.map((d) => `L${d + 1}`), ...p.external.map(({ queue, id }) => (queue === '' ? `E${id}` : `X${queue}\n${id}`))],
      };
    });
    await host.ready();
    const reply = host.clustered && levels.size > 0 ? await this.#writeAcrossSlots(planned, inputs, levels) : await host.store.addFlow(inputs, MAX_DEPENDENTS);
    if ('refused' in reply) {
      const { refused, detail } = reply;
      if (refused === Status.DUPLICATE && duplicateIsJob && prepared[0]?.input.jobId === detail) {
        const existing = await host.store.getJob(detail);
        if (existing !== null) return [Job.fromStored(host, existing)];
      }
      throw new ValidationError(refusal(host.name, refused, detail));
    }
    const now = Date.now();
    return reply.ids.map((id, n) => {
      const p = planned[n] as Planned;
      const { input, stored } = prepared[n] as { input: AddInput; stored: StoredJobOptions };
      const owner = p.queue === '' ? host : host.ownerFor(p.queue, levels.get(p.queue) as number);
      return new Job(owner, {
        id,
        name: input.name,
        data: p.data,
        opts: stored,
        priority: input.prio,
        attemptsMade: 0,
        attemptsStarted: 0,
        timestamp: now,
        state: p.local.length + p.external.length > 0 ? 'blocked' : 'waiting',
      });
    });
  }

  /** A flow across queues on a Cluster: written part by part, each part one add-flow call in its queue's slot. */
  #writeAcrossSlots(planned: Planned[], inputs: FlowInput[], levels: Map<string, number>): Promise<SlotReply> {
    const host = this.#host;
    const own = host.name;
    const jobs: SlotJob[] = planned.map((p, n) => {
      const { queue: _queue, deps: _deps, ...input } = inputs[n] as FlowInput;
      return { input, queue: p.queue === '' ? own : p.queue, local: p.local, external: p.external.map(({ queue, id }) => ({ queue: queue === '' ? own : queue, id })) };
    });
    this.#relay ??= new FlowRelay(host.store.client, host.store.keys.prefix, host.store.eventsMaxLen);
    const storeOf = (queue: string): QueueStore => (queue === own ? host.store : host.ownerFor(queue, levels.get(queue) as number).store);
    return writeAcrossSlots(jobs, { storeOf, relay: this.#relay, maxDependents: MAX_DEPENDENTS });
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
      return `job ${detail} of the flow has a priority that is not a level of its queue; nothing was written`;
    case Status.NEEDS_INIT:
      return `queue '${detail}' of this prefix does not exist (obliterated meanwhile?); nothing was written`;
    default:
      return `add-flow refused the flow with status ${status}; nothing was written`;
  }
}

import { randomUUID } from 'node:crypto';
import { FlowIncompleteError } from './errors.js';
import type { FlowRelay } from './flows-relay.js';
import { lengthPrefixed } from './redis/packed.js';
import { Status, type StatusCode } from './redis/status.js';
import type { FlowInput, FlowPart, QueueStore } from './redis/store.js';

/**
 * A flow across queues on a Redis Cluster (src/flows.ts sends it here): two queues are two slots, maybe on
 * two masters, and no script may write both, so the flow is written as parts, one add-flow call each, in
 * its queue's slot.
 *
 * The parts go dependents first: the jobs are put in an order where every job comes before the jobs it
 * depends on, and each run of jobs of one queue in it is a part (a flow q1 -> q2 -> q1 is three parts, q1
 * -> q2 two). A job of a part that depends on a job of a later part waits for it by a deps field (its
 * 'R' dependency), written now; the later part, written once the job that waits exists, adds that job to
 * its dependency's dependents as a member of another slot ('>{queue}id', its `links`). So whenever a
 * dependency can end, the job that waits for it exists and is linked: its end is passed on by a note
 * (lua/includes/dependents.lua, src/flows-relay.ts), never missed. Ids of jobs that earlier parts name are
 * taken from their queues' counters first (one INCRBY per queue). An existing job of another queue that a
 * job depends on is linked the same way, by a part of its queue written last; one that ended already
 * passes its end on at once.
 *
 * What is atomic: each part, as a whole flow is on one Redis. What is eventual: the flow as a whole. A
 * producer that stops part way (a crash, Redis failing) leaves parts whose jobs wait for parts never
 * written: each such part is recorded in its queue (`flows`, `flow:<id>`) until the last part's note says
 * the flow is whole, and a Worker of its queue fails its waiting jobs after `flowPartTimeout`
 * (src/flows-relay.ts sweep). A part refused (a jobId taken, a dependency gone since the check) makes the
 * producer remove the parts it wrote, dependents first, so nothing of the flow stays.
 */

/** One job of the flow, with its dependencies by index (`local`) and existing ones by queue and id. */
export interface SlotJob {
  /** The job as add-flow takes it, but for its queue and dependencies, which depend on its part. */
  input: Omit<FlowInput, 'queue' | 'deps'>;
  /** Its queue's name. */
  queue: string;
  local: readonly number[];
  external: readonly { queue: string; id: string }[];
}

/** What the writer needs of the Queue: each queue's store, and the relay. */
export interface SlotWriter {
  storeOf(queue: string): QueueStore;
  readonly relay: FlowRelay;
  readonly maxDependents: number;
}

interface Part {
  queue: string;
  /** Indexes of its jobs, in the order the script writes them (each after the jobs of the part it depends on). */
  jobs: number[];
  /** Existing jobs of this queue that jobs of earlier parts wait for: their id, and the waiting job's index. */
  existing: { id: string; dependent: number }[];
}

export type SlotReply = { ids: string[] } | { refused: StatusCode; detail: string };

/** The name a dependents set gives job `id` of queue `queue`, in a set of queue `holder`: '>' marks another slot. */
function member(queue: string, id: string, holder: string): string {
  return `${queue === holder ? '' : '>'}{${queue}}${id}`;
}

/** A dependency in another part or slot, as add-flow's 'R' ref: queue, id and key, packed. */
function remote(queue: string, id: string, key: string): Buffer {
  return Buffer.concat([Buffer.from('R'), lengthPrefixed([queue, id, key])]);
}

/**
 * The parts, dependents first: a reverse topological order that stays in one queue while it can, and
 * leaves jobs without dependencies for last (they start as soon as they are written).
 */
export function partsOf(jobs: readonly SlotJob[]): Part[] {
  const dependents: number[][] = jobs.map(() => []);
  jobs.forEach((job, i) => job.local.forEach((d) => dependents[d]?.push(i)));
  const left = dependents.map((list) => list.length);
  const ready = jobs.map((_, i) => i).filter((i) => left[i] === 0);
  const order: number[] = [];
  let current: string | undefined;
  while (ready.length > 0) {
    let at = ready.findIndex((i) => jobs[i]?.queue === current);
    if (at < 0) {
      const waits = ready.findIndex((i) => (jobs[i]?.local.length ?? 0) + (jobs[i]?.external.length ?? 0) > 0);
      at = waits < 0 ? 0 : waits;
      current = jobs[ready[at] as number]?.queue;
    }
    const i = ready.splice(at, 1)[0] as number;
    order.push(i);
    for (const d of (jobs[i] as SlotJob).local) if (--(left[d] as number) === 0) ready.push(d);
  }
  const parts: Part[] = [];
  for (const i of order) {
    const queue = (jobs[i] as SlotJob).queue;
    const last = parts[parts.length - 1];
    if (last !== undefined && last.queue === queue) last.jobs.unshift(i);
    else parts.push({ queue, jobs: [i], existing: [] });
  }
  // Existing jobs of other queues: linked by a part of their queue after every part with jobs (the last
  // one when it is of that queue: the job that waits is of another queue, so in an earlier part).
  const jobParts = parts.length;
  jobs.forEach((job, i) => {
    for (const { queue, id } of job.external) {
      if (queue === job.queue) continue;
      let part = parts.slice(jobParts - 1).find((p) => p.queue === queue);
      if (part === undefined) {
        part = { queue, jobs: [], existing: [] };
        parts.push(part);
      }
      part.existing.push({ id, dependent: i });
    }
  });
  return parts;
}

/**
 * Writes the flow part by part. Returns the ids of the jobs in their order, or the refusal of a part (with
 * the parts before it removed). Throws FlowIncompleteError when Redis failed after a part was written, or
 * a worker failed a part's waiting jobs before the producer finished.
 */
export async function writeAcrossSlots(jobs: readonly SlotJob[], writer: SlotWriter): Promise<SlotReply> {
  const parts = partsOf(jobs);
  const partOf = new Map<number, number>();
  parts.forEach((part, n) => part.jobs.forEach((i) => partOf.set(i, n)));
  const ids: (string | undefined)[] = jobs.map((job) => (job.input.jobId === '' ? undefined : job.input.jobId));

  // Given ids are checked before anything is written, so that adding a flow again is refused whole.
  const given = jobs.flatMap((job) => (job.input.jobId === '' ? [] : [{ queue: job.queue, id: job.input.jobId }]));
  const taken = await Promise.all(given.map(({ queue, id }) => writer.relay.store(queue).exists(id)));
  const duplicate = given.find((_, n) => taken[n] === true);
  if (duplicate !== undefined) return { refused: Status.DUPLICATE, detail: duplicate.id };

  // Ids that an earlier part names (its deps fields): taken ahead from their queues' counters.
  const ahead = new Map<string, number[]>();
  jobs.forEach((job, i) => {
    const mine = partOf.get(i) as number;
    if (ids[i] !== undefined || !jobs.some((other, j) => other.local.includes(i) && (partOf.get(j) as number) < mine)) return;
    const list = ahead.get(job.queue) ?? [];
    list.push(i);
    ahead.set(job.queue, list);
  });
  await Promise.all(
    [...ahead].map(async ([queue, list]) => {
      const first = await writer.relay.store(queue).reserveIds(list.length);
      list.forEach((i, n) => (ids[i] = String(first + n)));
    }),
  );

  const flow = randomUUID();
  const lastQueue = (parts[parts.length - 1] as Part).queue;
  const waits = parts.map((part, n) =>
    part.jobs.some((i) => (jobs[i] as SlotJob).local.some((d) => (partOf.get(d) as number) > n) || (jobs[i] as SlotJob).external.some((e) => e.queue !== part.queue)),
  );
  const waiting = [...new Set(parts.filter((_, n) => waits[n]).map((part) => part.queue))];
  let written = 0;
  try {
    for (const [n, part] of parts.entries()) {
      const position = new Map<number, number>(part.jobs.map((i, p) => [i, p + 1]));
      const inputs: FlowInput[] = part.jobs.map((i) => {
        const job = jobs[i] as SlotJob;
        const deps = [
          ...job.local.map((d) => (partOf.get(d) === n ? `L${position.get(d) as number}` : remote((jobs[d] as SlotJob).queue, ids[d] as string, (jobs[d] as SlotJob).input.key))),
          ...job.external.map((e) => (e.queue === part.queue ? `E${e.id}` : remote(e.queue, e.id, ''))),
        ];
        return { ...job.input, jobId: ids[i] ?? '', queue: '', deps };
      });
      const links: FlowPart['links'][number][] = [];
      for (const i of part.jobs) {
        jobs.forEach((other, j) => {
          if (other.local.includes(i) && (partOf.get(j) as number) < n) links.push({ dependency: `L${position.get(i) as number}`, member: member(other.queue, ids[j] as string, part.queue) });
        });
      }
      for (const { id, dependent } of part.existing) links.push({ dependency: `E${id}`, member: member((jobs[dependent] as SlotJob).queue, ids[dependent] as string, part.queue) });
      const reply = await writer.storeOf(part.queue).addFlow(inputs, writer.maxDependents, {
        flow,
        last: waits[n] === true ? lastQueue : '',
        done: n === parts.length - 1 ? waiting : [],
        links,
      });
      if ('refused' in reply) {
        await undo(parts.slice(0, n), ids, flow, writer);
        return reply;
      }
      reply.ids.forEach((id, p) => (ids[part.jobs[p] as number] = id));
      written++;
    }
  } catch (error) {
    if (written === 0) throw error;
    throw new FlowIncompleteError(
      flow,
      `addFlow wrote ${written} of the ${parts.length} parts of flow '${flow}' (one per run of jobs of one queue), then Redis failed: ` +
        `${(error as Error).message}. The jobs that wait for the parts not written fail after the workers' flowPartTimeout; add the flow again if it should run`,
      error as Error,
    );
  }
  // The last part's notes say the flow is whole; told here too, so a part a worker gave up on meanwhile is
  // known (a relay may have told it first: then this finds nothing). The flow is written whole by now: when
  // Redis fails here, the notes wait in the outboxes for the workers' pass, and the add succeeded.
  let told: { lost: number }[];
  try {
    told = await Promise.all(waiting.map((queue) => writer.relay.store(queue).deliver([{ kind: 'd', job: flow, dep: '', outcome: '', value: Buffer.alloc(0) }])));
    await Promise.all([...new Set(parts.map((part) => part.queue))].map((queue) => writer.relay.relay(queue)));
  } catch {
    return { ids: ids.map((id) => id as string) };
  }
  const lost = waiting.filter((_, n) => (told[n]?.lost ?? 0) > 0);
  if (lost.length > 0) {
    throw new FlowIncompleteError(
      flow,
      `flow '${flow}' took longer to write than the workers' flowPartTimeout: its jobs in queue '${lost.join("', '")}' that waited for the rest ` +
        'were failed before the rest was written; the rest runs, and its results reach no job of those parts',
    );
  }
  return { ids: ids.map((id) => id as string) };
}

/** A part was refused: the parts written before it are removed, dependents first, and their records with them. */
async function undo(parts: readonly Part[], ids: readonly (string | undefined)[], flow: string, writer: SlotWriter): Promise<void> {
  for (const part of parts) {
    const store = writer.storeOf(part.queue);
    // A part's jobs are listed dependencies first: removed the other way round.
    for (const i of [...part.jobs].reverse()) await store.removeJob(ids[i] as string);
  }
  const queues = [...new Set(parts.map((part) => part.queue))];
  await Promise.all(queues.map((queue) => writer.relay.store(queue).abandon(flow, -1, `flow '${flow}' was refused; its parts were removed`)));
  await Promise.all(queues.map((queue) => writer.relay.relay(queue)));
}

import type { QueueKeys } from '../keys.js';
import type { RedisClient } from './connection.js';
import { throwRedisFailure } from './failures.js';
import { lengthPrefixed } from './packed.js';
import type { AbandonFlowReply } from './replies.js';
import { runScript } from './scripts.js';

/**
 * The verbs of flows across Redis Cluster slots, for one queue (src/flows-relay.ts and
 * src/flows-across-slots.ts): its outbox of notes (lua/includes/dependents.lua writes them), applying notes
 * to its jobs (lua/deliver-notes.lua), its parts of flows that wait for the rest (lua/abandon-flow.lua), and
 * job ids taken ahead of a part's write. Kept beside QueueStore, as BatchStore is. Every command names a key
 * of this queue, so on a Cluster it goes to this queue's master.
 */

/** One note of an outbox: for job `job` of queue `queue`, the end of `dep` (kind 'e'), or flow `job` whole ('d'). */
export interface Note {
  /** The stream entry's id, to delete it once applied. */
  id: string;
  kind: string;
  queue: string;
  job: string;
  dep: string;
  outcome: string;
  value: Buffer;
  /** The ended job's process span's context, for its dependent's span link; empty when it sent none. */
  trace: Buffer;
}

const EMPTY = Buffer.alloc(0);

/** A stream entry's fields as XRANGE gives them (name, value, ...) into a Note. */
function noteOf(id: Buffer, fields: Buffer[]): Note {
  const note: Note = { id: id.toString(), kind: '', queue: '', job: '', dep: '', outcome: '', value: EMPTY, trace: EMPTY };
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const value = fields[i + 1] as Buffer;
    switch ((fields[i] as Buffer).toString()) {
      case 'k':
        note.kind = value.toString();
        break;
      case 'q':
        note.queue = value.toString();
        break;
      case 'd':
        note.job = value.toString();
        break;
      case 'r':
        note.dep = value.toString();
        break;
      case 'o':
        note.outcome = value.toString();
        break;
      case 'v':
        note.value = value;
        break;
      case 't':
        note.trace = value;
        break;
    }
  }
  return note;
}

export class FlowStore {
  constructor(
    readonly client: RedisClient,
    readonly keys: QueueKeys,
    /** Events kept by this queue's events stream, as the calling Queue or Worker keeps them. */
    readonly eventsMaxLen: number,
  ) {}

  /** Up to `count` notes of the outbox, oldest first, up to entry `until` ('+': all). */
  async read(count: number, until = '+'): Promise<Note[]> {
    const entries = await this.client.xrangeBuffer(this.keys.outbox, '-', until, 'COUNT', count).catch(throwRedisFailure);
    return entries.map(([id, fields]) => noteOf(id, fields));
  }

  /** The newest note's entry id, or undefined when the outbox is empty. */
  async tip(): Promise<string | undefined> {
    const entries = await this.client.xrevrange(this.keys.outbox, '+', '-', 'COUNT', 1).catch(throwRedisFailure);
    return entries[0]?.[0];
  }

  /** Deletes notes that were applied. */
  async acknowledge(ids: readonly string[]): Promise<void> {
    if (ids.length > 0) await this.client.xdel(this.keys.outbox, ...ids).catch(throwRedisFailure);
  }

  /** Applies notes (of other queues' outboxes) to this queue's jobs, once each however often (lua/deliver-notes.lua). */
  deliver(notes: readonly (Pick<Note, 'kind' | 'job' | 'dep' | 'outcome' | 'value'> & { trace?: Buffer })[]): Promise<{ noted: boolean; lost: number }> {
    const parts: (Buffer | string)[] = [];
    for (const note of notes) parts.push(note.kind, note.job, note.dep, note.outcome, note.value, note.trace ?? EMPTY);
    return runScript(this.client, 'deliver-notes', { meta: this.keys.meta }, { base: this.keys.base, eventsMaxLen: this.eventsMaxLen, notes: lengthPrefixed(parts) });
  }

  /** Flows whose part in this queue has waited for the rest since before `beforeMs` (Redis' time), up to `limit`. */
  async waitingParts(beforeMs: number, limit: number): Promise<string[]> {
    return this.client.zrangebyscore(this.keys.flows, '-inf', beforeMs, 'LIMIT', 0, limit).catch(throwRedisFailure);
  }

  /** The queue of flow `flow`'s last part, as this queue's waiting part recorded it; undefined when none waits. */
  async lastPartOf(flow: string): Promise<string | undefined> {
    return (await this.client.hget(this.keys.flow(flow), 'last').catch(throwRedisFailure)) ?? undefined;
  }

  /** Ends the jobs of this queue's part of `flow` that wait for the rest, when it waited `olderThanMs` (-1: any). */
  abandon(flow: string, olderThanMs: number, reason: string): Promise<AbandonFlowReply> {
    return runScript(
      this.client,
      'abandon-flow',
      { meta: this.keys.meta },
      { base: this.keys.base, eventsMaxLen: this.eventsMaxLen, flow, olderThan: olderThanMs, reason },
    );
  }

  /** Takes `count` numbers of the queue's id counter for jobs of a part (add.lua's ids): the first of them. */
  async reserveIds(count: number): Promise<number> {
    return (await this.client.incrby(this.keys.id, count).catch(throwRedisFailure)) - count + 1;
  }

  /** Whether job `id` exists in the queue (its hash, or its completed record). */
  async exists(id: string): Promise<boolean> {
    const [hash, done] = await Promise.all([this.client.exists(this.keys.job(id)), this.client.hexists(this.keys.done, id)]).catch(throwRedisFailure);
    return hash === 1 || done === 1;
  }
}

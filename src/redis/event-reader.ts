import { untilDropped, type RedisClient } from './connection.js';

/**
 * Reading a queue's events stream: what QueueEvents needs, on its own blocking connection. One stream
 * entry holds all the events of one script call, in groups: a pair ('', type) starts a group, and each pair
 * after it is one event of that type, (job id, value) (lua/includes/events.lua). A group with no pairs is
 * one event without a job (paused, resumed).
 */
export interface StreamEvent {
  /** The stream entry the event came in (every event of a script call shares it). */
  id: string;
  type: string;
  /** '' for an event without a job. */
  jobId: string;
  /** The name for added, the attempt for active, the result for completed, the reason for failed,
   * '<delay>:<reason>' for retrying, the delay for rate-limited, the progress for progress, the key for
   * deduplicated, the due time for debounced and rescheduled, the level for priority, the reason for
   * cancelled; else empty. */
  value: Buffer;
}

/** The id of the newest event, or '0-0': where a reader that wants only new events starts. */
export async function lastEventId(client: RedisClient, key: string): Promise<string> {
  const last = await client.xrevrange(key, '+', '-', 'COUNT', 1);
  return last[0]?.[0] ?? '0-0';
}

/**
 * Reads the events after `after`, blocking up to `blockMs` for new ones; they come back one StreamEvent
 * each, in order, all carrying their entry's id.
 */
export async function readEvents(client: RedisClient, key: string, after: string, blockMs: number, count: number): Promise<StreamEvent[]> {
  const reply = await untilDropped(client, client.xreadBuffer('COUNT', count, 'BLOCK', blockMs, 'STREAMS', key, after));
  if (reply === null) return [];
  const out: StreamEvent[] = [];
  for (const [, entries] of reply) for (const [rawId, fields] of entries) entryEvents(rawId.toString(), fields, out);
  return out;
}

const NONE = Buffer.alloc(0);

/** The events of one entry, appended to `out` in order. */
function entryEvents(id: string, fields: Buffer[], out: StreamEvent[]): void {
  let type: string | undefined;
  let bare = false;
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const field = fields[i] as Buffer;
    const value = fields[i + 1] as Buffer;
    if (field.length === 0) {
      if (bare && type !== undefined) out.push({ id, type, jobId: '', value: NONE });
      type = value.toString();
      bare = true;
    } else if (type !== undefined) {
      out.push({ id, type, jobId: field.toString(), value });
      bare = false;
    }
  }
  if (bare && type !== undefined) out.push({ id, type, jobId: '', value: NONE });
}

/** What readJobEvents found of one job. */
export interface JobEvents {
  /** The job's events, oldest first. */
  events: StreamEvent[];
  /** When the stream's oldest entry was written (ms), or null when the stream is empty (or events are off). */
  oldest: number | null;
  /** Events looked through (every job's). */
  looked: number;
  /** The scan stopped at `maxEvents` before the end of the range: later events of the job may be missing. */
  cut: boolean;
}

/**
 * Entries per XRANGE of readJobEvents. An entry holds the events of one script call (a batch of up to
 * 1,000 jobs), so a page stays a short command even of large batches.
 */
const JOB_EVENTS_PAGE = 20;

/**
 * The events of job `jobId` that the capped events stream still holds, read from entry time `fromMs` (the
 * job's creation: nothing of it is older) to `toMs` (or the newest), oldest first. The stream has no index
 * by job, so this reads every event in that range, in pages, and stops after `maxEvents`: the bound of one
 * look, since an event costs Redis about 0.1 µs to read and a page its round trip.
 */
export async function readJobEvents(client: RedisClient, key: string, jobId: string, fromMs: number, toMs: number | undefined, maxEvents: number): Promise<JobEvents> {
  const first = await client.xrange(key, '-', '+', 'COUNT', 1);
  const oldestId = first[0]?.[0];
  const out: JobEvents = { events: [], oldest: oldestId === undefined ? null : Number(oldestId.split('-')[0]), looked: 0, cut: false };
  if (oldestId === undefined) return out;
  const end = toMs === undefined ? '+' : String(Math.floor(toMs));
  let start = String(Math.max(0, Math.floor(fromMs)));
  const seen: StreamEvent[] = [];
  for (;;) {
    const page = await client.xrangeBuffer(key, start, end, 'COUNT', JOB_EVENTS_PAGE);
    for (const [rawId, fields] of page) {
      seen.length = 0;
      entryEvents(rawId.toString(), fields, seen);
      out.looked += seen.length;
      for (const event of seen) if (event.jobId === jobId) out.events.push(event);
    }
    const last = page.at(-1);
    if (page.length < JOB_EVENTS_PAGE || last === undefined) return out;
    if (out.looked >= maxEvents) {
      out.cut = true;
      return out;
    }
    start = `(${last[0].toString()}`;
  }
}

import type { RedisClient } from './connection.js';

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
  const reply = await client.xreadBuffer('COUNT', count, 'BLOCK', blockMs, 'STREAMS', key, after);
  if (reply === null) return [];
  const out: StreamEvent[] = [];
  const none = Buffer.alloc(0);
  for (const [, entries] of reply) {
    for (const [rawId, fields] of entries) {
      const id = rawId.toString();
      let type: string | undefined;
      let bare = false;
      for (let i = 0; i + 1 < fields.length; i += 2) {
        const field = fields[i] as Buffer;
        const value = fields[i + 1] as Buffer;
        if (field.length === 0) {
          if (bare && type !== undefined) out.push({ id, type, jobId: '', value: none });
          type = value.toString();
          bare = true;
        } else if (type !== undefined) {
          out.push({ id, type, jobId: field.toString(), value });
          bare = false;
        }
      }
      if (bare && type !== undefined) out.push({ id, type, jobId: '', value: none });
    }
  }
  return out;
}

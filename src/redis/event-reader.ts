import type { RedisClient } from './connection.js';

/**
 * Reading a queue's events stream: what QueueEvents needs, on its own blocking connection. One stream
 * entry holds all the events of one script call, each starting at an `ev` field (lua/includes/events.lua).
 */
export interface StreamEvent {
  id: string;
  fields: ReadonlyMap<string, Buffer>;
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
  for (const [, entries] of reply) {
    for (const [rawId, fields] of entries) {
      const id = rawId.toString();
      let current: Map<string, Buffer> | undefined;
      for (let i = 0; i + 1 < fields.length; i += 2) {
        const field = String(fields[i]);
        if (field === 'ev') {
          current = new Map();
          out.push({ id, fields: current });
        }
        current?.set(field, fields[i + 1] as Buffer);
      }
    }
  }
  return out;
}

import { readDoneRecord } from './done-record.js';
import { entryJob, entryRecord } from './entries.js';
import { num, pairs, str, type Reply } from './replies.js';
import type { RawJob } from './store.js';

/**
 * The replies of the inspection scripts (get-job, get-jobs): one shape for a job in each of its three homes
 * (lua/includes/view.lua), read here into the field names of a job hash, so Job.fromRaw reads any job the
 * same way.
 */

/** Values per job in a get-job or get-jobs reply: id, state, stream, entry, fields, progress (lua/get-job.lua). */
export const VIEW_SIZE = 6;
/** The `stream` of a completed job's view: `fields` is its done record, `entry` its finish time. */
const DONE_VIEW = -2;

/** The job at `o` of a get-job or get-jobs reply; an empty map when the reply holds no job there. */
export function readView(reply: readonly Reply[], o: number): { id: string; raw: RawJob } {
  const id = str(reply[o]);
  const stream = num(reply[o + 2]);
  const fields = reply[o + 4];
  const progress = reply[o + 5];
  if (stream === DONE_VIEW && Buffer.isBuffer(fields)) {
    return { id, raw: readDoneRecord(fields, str(reply[o + 3]), Buffer.isBuffer(progress) ? progress : null) };
  }
  if (!Array.isArray(fields)) return { id, raw: new Map() };
  if (stream < 0) return { id, raw: pairs(fields) };
  const job = entryJob(str(reply[o + 3]), stream, fields, false);
  return { id, raw: entryRecord(job, str(reply[o + 1]), Buffer.isBuffer(progress) ? progress : null) };
}

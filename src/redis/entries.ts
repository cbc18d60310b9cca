import { countOf, FAILURE_FIELDS, FULL_FIELDS, readJob, type StoredJob, type StoredName } from './job-fields.js';
import type { Reply } from './replies.js';
import type { JobState } from '../states.js';

/**
 * A job that waits on a stream or runs is its stream entry (lua/includes/entry.lua has the layouts and
 * why): claim hands the worker the entry's fields as they are, and this module reads them. Two layouts, in
 * the names of job-fields.ts:
 *
 * - fresh: FRESH_FIELDS (`name data opts ts`), a job added ready with a generated id: its id is the number
 *   of its entry id `<id>-0`, its priority the stream's level, nothing started or made yet;
 * - full: FULL_FIELDS (`id name data opts ts prio grp ats atm stalls ready`), then `err stack` after a
 *   failed attempt: every other entry.
 *
 * An entry in neither layout (written by hand, or by a buggy client) is read as far as it goes and marked
 * corrupt; one that names no job at all gets the id '' (a worker then only acknowledges it).
 */

const FULL = new Set<string>([...FULL_FIELDS, ...FAILURE_FIELDS]);
const FRESH_ID = /^(\d+)-0$/;

function bytes(value: Reply | undefined): Buffer | undefined {
  if (Buffer.isBuffer(value)) return value;
  if (typeof value === 'string' || typeof value === 'number') return Buffer.from(String(value));
  return undefined;
}

/**
 * A job in the fresh layout from its four values (claim hands them out without the field names). `started`:
 * the delivery being read is an attempt starting now (claim), so attemptsStarted counts it.
 */
export function freshJob(entry: string, stream: number, name: Reply, data: Reply, opts: Reply, created: Reply, state: JobState, started: boolean): StoredJob {
  const ts = bytes(created);
  const timestamp = ts === undefined ? undefined : countOf(ts);
  const job: StoredJob = {
    id: entry.slice(0, -2),
    state,
    name: bytes(name)?.toString() ?? '',
    data: bytes(data) ?? Buffer.alloc(0),
    opts: bytes(opts) ?? Buffer.alloc(0),
    timestamp: timestamp ?? 0,
    priority: stream,
    group: '',
    attemptsStarted: started ? 1 : 0,
    attemptsMade: 0,
    stalls: 0,
    failedReason: '',
    stacktrace: '',
    entry,
    stream,
    hashed: false,
  };
  if (timestamp === undefined) job.corrupt = ts === undefined ? "field 'ts' is missing" : `field 'ts' is ${JSON.stringify(ts.toString().slice(0, 40))}, not a count`;
  return job;
}

/** Whether an entry's (field, value, ...) array is exactly the fresh layout. */
function isFresh(fields: readonly Reply[]): boolean {
  const at = (i: number): string | undefined => bytes(fields[i])?.toString();
  return fields.length === 8 && at(0) === 'name' && at(2) === 'data' && at(4) === 'opts' && at(6) === 'ts';
}

/**
 * Reads an entry's (field, value, ...) array. `started` adds the delivery being read to attemptsStarted
 * (claim: the worker is about to start it); inspection reads it as it is.
 */
export function entryJob(entry: string, stream: number, fields: readonly Reply[], state: JobState, started: boolean): StoredJob {
  if (isFresh(fields)) return freshJob(entry, stream, fields[1] ?? null, fields[3] ?? null, fields[5] ?? null, fields[7] ?? null, state, started);
  const byName = new Map<string, Buffer>();
  const problems: string[] = [];
  for (let i = 0; i < fields.length; i += 2) {
    const name = bytes(fields[i])?.toString() ?? '';
    const value = bytes(fields[i + 1]);
    if (value === undefined) problems.push(`field '${name}' has no value`);
    else if (!FULL.has(name)) problems.push(`it has a field '${name.slice(0, 40)}' no job has`);
    else byName.set(name, value);
  }
  let id = byName.get('id')?.toString();
  if (id === undefined) {
    // No id: a fresh entry gone wrong is still its job's (its id is the entry's number); any other entry
    // holds no job at all.
    id = FRESH_ID.exec(entry)?.[1] ?? '';
    if (id !== '') {
      problems.push(`it is in neither entry layout (fields: ${[...byName.keys()].join(' ') || 'none'})`);
      // What a fresh entry implies, as lua/includes/entry.lua reads it.
      if (!byName.has('prio')) byName.set('prio', Buffer.from(String(stream)));
    }
  } else {
    for (const name of FULL_FIELDS) if (!byName.has(name)) problems.push(`field '${name}' is missing`);
  }
  const get = (name: StoredName): Buffer | undefined => byName.get(name);
  const prio = byName.get('prio');
  const level = prio === undefined ? undefined : countOf(prio);
  // A level stream holds its own level's jobs, the admit stream (the last, above every level) any level's.
  if (level !== undefined && level > stream) problems.push(`field 'prio' is ${level}, above the level of the stream it is on (${stream})`);
  const job = readJob(id, state, get, true, problems.length > 0 ? problems.join('; ') : undefined);
  job.entry = entry;
  job.stream = stream;
  if (started) job.attemptsStarted += 1;
  return job;
}

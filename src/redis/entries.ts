import { ScriptError } from '../errors.js';
import { buf, num, str, type Reply } from './replies.js';

/**
 * A job that waits on a stream or runs is its stream entry (lua/includes/entry.lua has the layouts and
 * why): claim hands the worker the entry's fields as they are, and this module reads them. Two layouts:
 *
 * - fresh: `n d o t`, a job added ready with a generated id: its id is the number of its entry id
 *   `<id>-0`, its priority the stream's level, nothing started or made yet;
 * - full: `id n d o t p g a m s r`, then `err stk` after a failed attempt: every other entry.
 *
 * test/unit/entries.test.ts checks these names against entry.lua.
 */
export const FRESH_FIELDS = ['n', 'd', 'o', 't'] as const;
export const FULL_FIELDS = ['id', 'n', 'd', 'o', 't', 'p', 'g', 'a', 'm', 's', 'r'] as const;

/** The job of one entry, as a worker runs it and a settle script writes it back. */
export interface EntryJob {
  id: string;
  /** The stream entry of this delivery: the fencing token. */
  entry: string;
  /** The stream it came from (index into keys.streams): settles go back to it. */
  stream: number;
  priority: number;
  name: string;
  data: Buffer;
  opts: Buffer;
  /** When the job was added (ms, Redis' clock). */
  timestamp: number;
  /** '' for none. */
  group: string;
  /** Attempts started, this one included when the entry is being run. */
  attemptsStarted: number;
  /** Attempts that ended before this one. */
  attemptsMade: number;
  /** Times the job was taken back from a worker that stopped responding. */
  stalls: number;
  /** The latest failed attempt's reason and stack, '' for none. */
  failedReason: string;
  stacktrace: string;
  /** The job has a hash (its entry is in the full layout: the hash is its locator). */
  hashed: boolean;
}

/** The fields of a fresh entry are the first eight values, in FRESH_FIELDS order: no name to look up. */
function isFresh(fields: readonly Reply[]): boolean {
  const first = fields[0];
  return fields.length === 8 && Buffer.isBuffer(first) && first.length === 1 && first[0] === 0x6e; // 'n'
}

/** A job in the fresh layout from its four values (claim hands them out without the field names). */
export function freshJob(entry: string, stream: number, name: Reply, data: Reply, opts: Reply, created: Reply, started: boolean): EntryJob {
  return {
    id: entry.slice(0, -2),
    entry,
    stream,
    priority: stream,
    name: str(name),
    data: buf(data),
    opts: buf(opts),
    timestamp: num(created),
    group: '',
    attemptsStarted: started ? 1 : 0,
    attemptsMade: 0,
    stalls: 0,
    failedReason: '',
    stacktrace: '',
    hashed: false,
  };
}

/**
 * Reads an entry's fields. `started` adds the delivery being read to attemptsStarted (claim: the worker is
 * about to start it); inspection reads them as they are.
 */
export function entryJob(entry: string, stream: number, fields: readonly Reply[], started: boolean): EntryJob {
  const add = started ? 1 : 0;
  if (isFresh(fields)) return freshJob(entry, stream, fields[1] ?? null, fields[3] ?? null, fields[5] ?? null, fields[7] ?? null, started);
  const byName = new Map<string, Reply>();
  for (let i = 0; i + 1 < fields.length; i += 2) byName.set(str(fields[i]), fields[i + 1] ?? null);
  const field = (name: string): Reply => {
    const value = byName.get(name);
    if (value === undefined) throw new ScriptError(`stream entry ${entry} has no field '${name}' (fields: ${[...byName.keys()].join(' ')})`);
    return value;
  };
  return {
    id: str(field('id')),
    entry,
    stream,
    priority: num(field('p')),
    name: str(field('n')),
    data: buf(field('d')),
    opts: buf(field('o')),
    timestamp: num(field('t')),
    group: str(field('g')),
    attemptsStarted: num(field('a')) + add,
    attemptsMade: num(field('m')),
    stalls: num(field('s')),
    failedReason: byName.has('err') ? str(byName.get('err')) : '',
    stacktrace: byName.has('stk') ? str(byName.get('stk')) : '',
    hashed: true,
  };
}

/**
 * An entry's job in the field names of a job hash (lua/includes/record.lua), so Job.fromRaw reads a job the
 * same way from either home; `state` is what the script derived (waiting or active).
 */
export function entryRecord(job: EntryJob, state: string, progress: Buffer | null): Map<string, Buffer> {
  const text = (value: string | number): Buffer => Buffer.from(String(value));
  const raw = new Map<string, Buffer>([
    ['state', text(state)],
    ['name', text(job.name)],
    ['data', job.data],
    ['opts', job.opts],
    ['prio', text(job.priority)],
    ['ts', text(job.timestamp)],
    ['ats', text(job.attemptsStarted)],
    ['atm', text(job.attemptsMade)],
    ['stalls', text(job.stalls)],
    ['entry', text(job.entry)],
  ]);
  if (job.group !== '') raw.set('grp', text(job.group));
  if (job.failedReason !== '') raw.set('err', text(job.failedReason));
  if (job.stacktrace !== '') raw.set('stack', text(job.stacktrace));
  if (progress !== null) raw.set('progress', progress);
  return raw;
}

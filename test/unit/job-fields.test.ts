import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { doneRecord, readDoneRecord } from '../../src/redis/done-record.js';
import { entryJob, freshJob } from '../../src/redis/entries.js';
import {
  carriedFields,
  COUNTERS,
  FAILURE_FIELDS,
  FRESH_FIELDS,
  FULL_FIELDS,
  readJob,
  RECORD_PARTS,
  STORED_NAMES,
  type ClaimedJob,
  type StoredName,
} from '../../src/redis/job-fields.js';
import { LUA_DIR } from '../../src/redis/lua.js';
import { SCRIPTS } from '../../src/redis/scripts.js';

const lua = (path: string): string => readFileSync(join(LUA_DIR, path), 'utf8');
const fieldsLua = lua('includes/job-fields.lua');

/** A `NAME = { 'a', 'b' }` table of job-fields.lua's jobFieldTables. */
function luaTable(name: string): string[] {
  const body = new RegExp(`^\\s+${name} = \\{([^}]*)\\}`, 'm').exec(fieldsLua)?.[1];
  if (body === undefined) throw new Error(`job-fields.lua has no table ${name}`);
  return [...body.matchAll(/'([a-z]+)'/g)].map((match) => match[1] as string);
}

/** The field names of a redis.call('XADD', ...) in `source` that starts with `prefix`: each quoted name followed by a value. */
function xaddNames(source: string, prefix: string): string[][] {
  const calls = source.split(prefix).slice(1).map((rest) => rest.slice(0, rest.indexOf(')\n')));
  return calls.map((call) => [...call.matchAll(/'([a-z]+)', /g)].map((match) => match[1] as string));
}

const STORED = new Set<string>(Object.values(STORED_NAMES));

describe('a job field has one name in Lua and in TypeScript', () => {
  it('job-fields.lua and job-fields.ts hold the same tables', () => {
    expect(luaTable('FULL_FIELDS')).toEqual([...FULL_FIELDS]);
    expect(luaTable('FRESH_FIELDS')).toEqual([...FRESH_FIELDS]);
    expect(luaTable('RECORD_PARTS')).toEqual([...RECORD_PARTS]);
    expect(luaTable('COUNTERS')).toEqual([...COUNTERS]);
  });

  it('spells the tables out where a script reads by them: positions, the fresh layout, the counters', () => {
    const position = (name: (typeof FULL_FIELDS)[number]) => 2 * FULL_FIELDS.indexOf(name) + 2;
    expect(fieldsLua).toContain(`local FULL_ATS_AT, FULL_READY_AT = ${position('ats')}, ${position('ready')}`);
    const fresh = FRESH_FIELDS.map((name, i) => `fields[${2 * i + 1}] == '${name}'`).join(' and ');
    expect(fieldsLua).toContain(`return #fields == ${2 * FRESH_FIELDS.length} and ${fresh}`);
    const counted = [...(/local problem = (countProblem[^\n]*\n[^\n]*)/.exec(fieldsLua)?.[1] ?? '').matchAll(/countProblem\('([a-z]+)'\)/g)].map((m) => m[1]);
    expect(counted).toEqual([...COUNTERS]);
  });

  it('writes entries as the tables say: the full layout in entry.lua, the fresh one in add.lua and batch-add.lua', () => {
    const full = xaddNames(lua('includes/entry.lua'), "redis.call('XADD', key, entry, ");
    expect(full).toEqual([[...FULL_FIELDS, ...FAILURE_FIELDS], [...FULL_FIELDS]]);
    expect(xaddNames(lua('add.lua'), "redis.call('XADD', levels[tonumber(prioS) + 1], entry, ")).toEqual([[...FRESH_FIELDS]]);
    expect(xaddNames(lua('batch-add.lua'), "redis.call('XADD', levels[tonumber(prioS) + 1], id .. '-0', ")).toEqual([[...FRESH_FIELDS]]);
  });

  it('writes the hashes of delayed and grouped jobs alike in add.lua and batch-add.lua', () => {
    const hsets = (source: string): string[] => [...source.matchAll(/redis\.call\('HSET', (?:key|jobKey\(base, id\)), ([^\n]*)\)\n/g)].map((m) => m[1] as string);
    const names = (call: string): string[] => [...call.matchAll(/'([a-z]+)', /g)].map((m) => m[1] as string);
    const add = hsets(lua('add.lua')).map(names);
    expect(add.length).toBeGreaterThan(0);
    expect(hsets(lua('batch-add.lua')).map(names)).toEqual(add);
    // The state's value ('delayed', 'waiting') is quoted as the names are.
    for (const fields of add) expect(fields.filter((name) => !['state', 'delayed', 'waiting'].includes(name) && !STORED.has(name))).toEqual([]);
  });

  it('writes and reads hashes and records in the same names', () => {
    const record = lua('includes/record.lua');
    const written = [...(/local f = \{([^}]*)\}/.exec(record)?.[1] ?? '').matchAll(/'([a-z]+)', /g)].map((m) => m[1] as string);
    expect(written.filter((name) => name !== 'state')).toEqual(['name', 'data', 'opts', 'ts', 'prio', 'ats', 'atm', 'stalls']);
    const hashFields = [...(/local HASH_FIELDS = \{([^}]*)\}/.exec(record)?.[1] ?? '').matchAll(/'([a-z]+)'/g)].map((m) => m[1] as string);
    expect(hashFields.filter((name) => !STORED.has(name))).toEqual([]);
    // done.lua reads the first six parts of a record by position.
    expect(lua('includes/done.lua')).toContain(`local ok, ${RECORD_PARTS.slice(0, 6).join(', ')} = pcall(struct.unpack,`);
  });

  it('names every per-job value of fail and release that is a job field as the tables do', () => {
    const carried = Object.keys(carriedFields(claimed()));
    expect(carried.filter((name) => !STORED.has(name))).toEqual([]);
    for (const script of ['fail', 'release'] as const) {
      const perJob: readonly string[] = SCRIPTS[script].perJob;
      expect(carried.filter((name) => !perJob.includes(name))).toEqual([]);
    }
  });

  it('reads each stored name into its StoredJob field', () => {
    const values: Partial<Record<StoredName, string>> = {
      name: 'n', data: 'd', opts: 'o', ts: '1', prio: '2', grp: 'g', ats: '3', atm: '4', stalls: '5', err: 'e', stack: 's',
      due: '6', pon: '7', fon: '8', progress: 'p', rv: 'r', by: 'w',
    };
    const job = readJob('x', 'failed', (name) => (values[name] === undefined ? undefined : Buffer.from(values[name])), true);
    for (const [field, stored] of Object.entries(STORED_NAMES)) {
      const expected = values[stored];
      if (expected === undefined) continue;
      const read = (job as unknown as Record<string, unknown>)[field];
      expect([field, Buffer.isBuffer(read) ? read.toString() : String(read)]).toEqual([field, expected]);
    }
    expect(job.corrupt).toBeUndefined();
  });
});

function claimed(overrides: Partial<ClaimedJob> = {}): ClaimedJob {
  return {
    id: 'order-7', state: 'active', name: 'charge', data: Buffer.from([0xa1, 0x61]), opts: Buffer.alloc(0), timestamp: 5, priority: 1, group: 'acme',
    attemptsStarted: 2, attemptsMade: 1, stalls: 0, failedReason: 'boom', stacktrace: 'at x', hashed: true, entry: '9-0', stream: 1, processedOn: 77,
    ...overrides,
  };
}

const fieldArray = (values: Record<string, string>): Buffer[] => Object.entries(values).flatMap(([name, value]) => [Buffer.from(name), Buffer.from(value)]);
const FULL_ENTRY = { id: 'order-7', name: 'charge', data: '', opts: '', ts: '5', prio: '0', grp: 'acme', ats: '2', atm: '1', stalls: '1', ready: '9' };

describe('reading a stream entry', () => {
  it('reads a fresh entry, given as fields or as its four values, as the same job', () => {
    const values = [Buffer.from('email'), Buffer.from([0x81, 0xa1, 0x61, 0x01]), Buffer.alloc(0), Buffer.from('1764600000000')];
    const fields = FRESH_FIELDS.flatMap((name, i) => [Buffer.from(name), values[i]!]);
    const read = entryJob('42-0', 2, fields, 'active', true);
    expect(read).toEqual(freshJob('42-0', 2, values[0]!, values[1]!, values[2]!, values[3]!, 'active', true));
    expect(read).toMatchObject({ id: '42', priority: 2, name: 'email', timestamp: 1764600000000, attemptsStarted: 1, attemptsMade: 0, hashed: false });
    expect(read.corrupt).toBeUndefined();
  });

  it('reads a full entry by name, with an earlier failure, and says the job has a hash', () => {
    const read = entryJob('77-0', 3, fieldArray({ ...FULL_ENTRY, err: 'boom', stack: 'at x' }), 'active', true);
    expect(read).toMatchObject({
      id: 'order-7', entry: '77-0', stream: 3, priority: 0, group: 'acme', attemptsStarted: 3, attemptsMade: 1, stalls: 1,
      failedReason: 'boom', stacktrace: 'at x', hashed: true, timestamp: 5,
    });
    expect(read.corrupt).toBeUndefined();
  });

  it('marks an entry with a missing field, an extra field or a counter that is not a number as corrupt, naming it', () => {
    const { ats: _ats, ...missing } = FULL_ENTRY;
    expect(entryJob('1-0', 0, fieldArray(missing), 'active', false)).toMatchObject({ id: 'order-7', corrupt: "field 'ats' is missing" });
    expect(entryJob('1-0', 0, fieldArray({ ...FULL_ENTRY, color: 'red' }), 'active', false).corrupt).toBe("it has a field 'color' no job has");
    expect(entryJob('1-0', 0, fieldArray({ ...FULL_ENTRY, atm: 'x1' }), 'active', false).corrupt).toBe(`field 'atm' is "x1", not a count`);
    expect(entryJob('1-0', 0, fieldArray({ ...FULL_ENTRY, prio: '-1' }), 'active', false).corrupt).toBe(`field 'prio' is "-1", not a count`);
    // A fresh entry that lost a field keeps its id (its entry's number); its ts is not a count.
    expect(freshJob('12-0', 1, Buffer.from('n'), Buffer.alloc(0), Buffer.alloc(0), Buffer.from('soon'), 'active', true)).toMatchObject({
      id: '12', corrupt: `field 'ts' is "soon", not a count`,
    });
    const fresh = entryJob('12-0', 1, fieldArray({ name: 'n', data: '', ts: '1' }), 'active', true);
    expect([fresh.id, fresh.corrupt]).toEqual(['12', "it is in neither entry layout (fields: name data ts); field 'opts' is missing"]);
  });

  it('gives an entry that names no job the id "": its worker only acknowledges it', () => {
    expect(entryJob('1700000000000-3', 0, fieldArray({ hello: 'world' }), 'active', true)).toMatchObject({ id: '', entry: '1700000000000-3' });
  });
});

describe('a completed record', () => {
  it('is read back as the job its worker wrote, and a cut record is corrupt', () => {
    const job = claimed();
    const record = doneRecord(job, Buffer.from([0xc3]), Buffer.from([0x05]), 'host:1:abc');
    expect(readDoneRecord('order-7', record, Buffer.from('99'), undefined)).toEqual({
      ...job,
      state: 'completed',
      attemptsMade: 2,
      returnvalue: Buffer.from([0xc3]),
      progress: Buffer.from([0x05]),
      processedBy: 'host:1:abc',
      finishedOn: 99,
      hashed: false,
      entry: undefined,
      stream: undefined,
    });
    expect(readDoneRecord('order-7', record.subarray(0, 30), Buffer.from('99'), undefined).corrupt).toMatch(/^its completed record /);
  });
});

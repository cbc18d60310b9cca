import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { entryJob, freshJob, FRESH_FIELDS, FULL_FIELDS } from '../../src/redis/entries.js';
import { LUA_DIR } from '../../src/redis/lua.js';

const entryLua = readFileSync(join(LUA_DIR, 'includes', 'entry.lua'), 'utf8');
const addLua = readFileSync(join(LUA_DIR, 'add.lua'), 'utf8');

/** The field names of an XADD call's source text: every quoted name that is followed by a value. */
function xaddFields(source: string): string[] {
  const call = /redis\.call\('XADD', [^,]+, entry, ([^)]*)\)/.exec(source);
  if (call?.[1] === undefined) throw new Error('no XADD with an explicit entry id found');
  return [...call[1].matchAll(/'([a-z]+)', /g)].map((match) => match[1] as string);
}

describe('stream entry layouts: lua/includes/entry.lua and src/redis/entries.ts', () => {
  it('writes the full layout in the order the readers expect', () => {
    expect(xaddFields(entryLua)).toEqual([...FULL_FIELDS, 'err', 'stk']);
    // entryIdAndAttempt and entryReadyAt read `a` and `r` by position: 1-based Lua indexes of their values.
    const valueAt = (name: (typeof FULL_FIELDS)[number]) => 2 * FULL_FIELDS.indexOf(name) + 2;
    expect(entryLua).toContain(`tonumber(fields[${valueAt('a')}]) + 1`);
    expect(entryLua).toContain(`return tonumber(fields[${valueAt('r')}])`);
  });

  it('writes the fresh layout in add.lua in FRESH_FIELDS order', () => {
    const fresh = /redis\.call\('XADD', levels\[tonumber\(prioS\) \+ 1\], entry, ([^)]*)\)/.exec(addLua)?.[1] ?? '';
    expect([...fresh.matchAll(/'([a-z]+)', /g)].map((match) => match[1])).toEqual([...FRESH_FIELDS]);
    expect(entryLua).toContain(`return tonumber(fields[${2 * FRESH_FIELDS.indexOf('t') + 2}])`);
  });

  it('reads a fresh entry, given as fields or as its four values, as the same job', () => {
    const values = [Buffer.from('email'), Buffer.from([0x81, 0xa1, 0x61, 0x01]), Buffer.alloc(0), Buffer.from('1764600000000')];
    const fields = FRESH_FIELDS.flatMap((name, i) => [Buffer.from(name), values[i]!]);
    const read = entryJob('42-0', 2, fields, true);
    expect(read).toEqual(freshJob('42-0', 2, values[0]!, values[1]!, values[2]!, values[3]!, true));
    expect(read).toMatchObject({ id: '42', priority: 2, name: 'email', timestamp: 1764600000000, attemptsStarted: 1, attemptsMade: 0, hashed: false });
  });

  it('reads a full entry by name, with an earlier failure, and says the job has a hash', () => {
    const values: Record<string, string> = { id: 'order-7', n: 'charge', d: '', o: '', t: '5', p: '0', g: 'acme', a: '2', m: '1', s: '1', r: '9', err: 'boom', stk: 'at x' };
    const fields = Object.entries(values).flatMap(([name, value]) => [Buffer.from(name), Buffer.from(value)]);
    expect(entryJob('77-0', 3, fields, true)).toMatchObject({
      id: 'order-7', entry: '77-0', stream: 3, priority: 0, group: 'acme', attemptsStarted: 3, attemptsMade: 1, stalls: 1,
      failedReason: 'boom', stacktrace: 'at x', hashed: true, timestamp: 5,
    });
  });

  it('names a missing field of a full entry instead of reading it as empty', () => {
    const fields = ['id', 'x', 'n', 'y'].map((value) => Buffer.from(value));
    expect(() => entryJob('1-0', 0, fields, false)).toThrow(/^stream entry 1-0 has no field '[a-z]+' \(fields: id n\)$/);
  });
});

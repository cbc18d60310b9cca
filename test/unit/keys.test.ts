import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ValidationError } from 'sluice';
import { guardKey, MAX_QUEUE_NAME_BYTES, queueKeys, validateQueueName } from '../../src/keys.js';
import { LUA_DIR } from '../../src/redis/lua.js';
import { GROUP } from '../../src/redis/store.js';

/** The Redis Cluster hash tag of a key: what stands between the first '{' and the next '}'. */
function hashTag(key: string): string | undefined {
  const open = key.indexOf('{');
  const close = key.indexOf('}', open + 1);
  return open === -1 || close === -1 || close === open + 1 ? undefined : key.slice(open + 1, close);
}

describe('queue keys', () => {
  it('puts every key of a queue under one hash tag, the queue name', () => {
    const keys = queueKeys('emails', 'sluice', 3);
    const all = [
      keys.meta, keys.id, keys.delayed, keys.completed, keys.done, keys.failed, keys.events, keys.ctl, ...keys.wait, keys.job('42'), keys.logs('x:y'),
      keys.workers, keys.workerInfo,
      keys.history, keys.historyNow,
    ];
    expect(all).toHaveLength(17);
    for (const key of all) expect(hashTag(key)).toBe('emails');
    expect(keys.wait).toEqual(['sluice:{emails}:wait:0', 'sluice:{emails}:wait:1', 'sluice:{emails}:wait:2']);
  });

  it('builds job keys the way lua/includes/keys.lua does', () => {
    const lua = readFileSync(join(LUA_DIR, 'includes', 'keys.lua'), 'utf8');
    const keys = queueKeys('q', 'p', 1);
    const job = /jobKey\(base, id\) return base \.\. '([^']+)' \.\. id/.exec(lua)?.[1];
    const logs = /logsKey\(base, id\) return base \.\. '([^']+)' \.\. id/.exec(lua)?.[1];
    expect(keys.job('7')).toBe(`${keys.base}${job}7`);
    expect(keys.logs('7')).toBe(`${keys.base}${logs}7`);
    const done = /doneKey\(base\) return base \.\. '([^']+)'/.exec(lua)?.[1];
    expect(keys.done).toBe(`${keys.base}${done}`);
    const front = /frontKey\(base, level\) return base \.\. '([^']+)' \.\. level/.exec(lua)?.[1];
    expect(keys.front(2)).toBe(`${keys.base}${front}2`);
    const workers = /workersKey\(base\) return base \.\. '([^']+)'/.exec(lua)?.[1];
    const workerInfo = /workerInfoKey\(base\) return base \.\. '([^']+)'/.exec(lua)?.[1];
    expect([keys.workers, keys.workerInfo]).toEqual([`${keys.base}${workers}`, `${keys.base}${workerInfo}`]);
    const history = /historyKey\(base\) return base \.\. '([^']+)'/.exec(lua)?.[1];
    const historyNow = /historyNowKey\(base\) return base \.\. '([^']+)'/.exec(lua)?.[1];
    expect(keys.history).toBe(`${keys.base}${history}`);
    expect(keys.historyNow).toBe(`${keys.base}${historyNow}`);
    const dedupe = /dedupeKey\(base\) return base \.\. '([^']+)'/.exec(lua)?.[1];
    const windows = /dedupeWindowsKey\(base\) return base \.\. '([^']+)'/.exec(lua)?.[1];
    expect([keys.dedupe, keys.dedupeWindows]).toEqual([`${keys.base}${dedupe}`, `${keys.base}${windows}`]);
    const deps = /depsKey\(base, id\) return base \.\. '([^']+)' \.\. id/.exec(lua)?.[1];
    const dependents = /dependentsKey\(base, id\) return base \.\. '([^']+)' \.\. id/.exec(lua)?.[1];
    const blocked = /blockedKey\(base\) return base \.\. '([^']+)'/.exec(lua)?.[1];
    const linked = /linkedKey\(base\) return base \.\. '([^']+)'/.exec(lua)?.[1];
    // Another queue's keys, as dependents.lua builds them for a flow across queues.
    const other = queueKeys('other', 'p', 2);
    expect(/otherBase\(base, name, other\) return string\.sub\(base, 1, #base - #name - 3\) \.\. '\{' \.\. other \.\. '\}:'/.test(lua)).toBe(true);
    expect(`${keys.base.slice(0, keys.base.length - 'q'.length - 3)}{other}:`).toBe(other.base);
    const level = /levelKey\(base, level\) return base \.\. '([^']+)' \.\. level/.exec(lua)?.[1];
    const admit = /admitKey\(base\) return base \.\. '([^']+)'/.exec(lua)?.[1];
    expect([`${other.base}${level}0`, `${other.base}${level}1`, `${other.base}${admit}`]).toEqual(other.streams);
    const groupsAt = /local g = base \.\. '([^']+)'/.exec(lua)?.[1];
    const names = [...(/ready = g \.\. '(\w+)', state = g \.\. '(\w+)', throttled = g \.\. '(\w+)', full = g \.\. '(\w+)', active = g \.\. '(\w+)',\s+limits = g \.\. '(\w+)', hold = g \.\. '(\w+)'/.exec(lua) ?? [])].slice(1);
    expect(names.map((n) => `${other.base}${groupsAt}${n}`)).toEqual(other.groups);
    const own = /id = base \.\. '(\w+)', meta = base \.\. '(\w+)', ctl = base \.\. '(\w+)', failed = base \.\. '(\w+)', events = base \.\. '(\w+)'/.exec(lua)?.slice(1);
    expect(own?.map((n) => `${other.base}${n}`)).toEqual([other.id, other.meta, other.ctl, other.failed, other.events]);
    expect([keys.deps('7'), keys.dependents('7'), keys.blocked, keys.linked]).toEqual([
      `${keys.base}${deps}7`,
      `${keys.base}${dependents}7`,
      `${keys.base}${blocked}`,
      `${keys.base}${linked}`,
    ]);
    const outbox = /outboxKey\(base\) return base \.\. '([^']+)'/.exec(lua)?.[1];
    const flows = /flowsKey\(base\) return base \.\. '([^']+)'/.exec(lua)?.[1];
    const flow = /flowKey\(base, id\) return base \.\. '([^']+)' \.\. id/.exec(lua)?.[1];
    expect([keys.outbox, keys.flows, keys.flow('f7')]).toEqual([`${keys.base}${outbox}`, `${keys.base}${flows}`, `${keys.base}${flow}f7`]);
    const batch = /batchKey\(base, id\) return base \.\. '([^']+)' \.\. id/.exec(lua)?.[1];
    expect(keys.batch('b7')).toBe(`${keys.base}${batch}b7`);
    const batches = /batchesKey\(base\) return base \.\. '([^']+)'/.exec(lua)?.[1];
    expect(keys.batches).toBe(`${keys.base}${batches}`);
    const turn = /sharesTurnKey\(base\) return base \.\. '([^']+)'/.exec(lua)?.[1];
    expect(keys.sharesTurn).toBe(`${keys.base}${turn}`);
    const waiters = /waitersKey\(base\) return base \.\. '([^']+)'/.exec(lua)?.[1];
    const wake = /wakeKey\(base, consumer\) return base \.\. '([^']+)' \.\. consumer/.exec(lua)?.[1];
    expect([keys.waiters, keys.wake('w7')]).toEqual([`${keys.base}${waiters}`, `${keys.base}${wake}w7`]);
    expect(/rateKeyOf\(base\) return base \.\. '([^']+)'/.exec(lua)?.[1]).toBe(keys.rate.slice(keys.base.length));
    expect(/local CONSUMER_GROUP = '([^']+)'/.exec(lua)?.[1]).toBe(GROUP);
  });

  it.each([
    ['', 'non-empty'],
    ['a{b}', "contains a brace; queue names may not contain '{' or '}'"],
    ['a}', 'contains a brace'],
    ['x'.repeat(MAX_QUEUE_NAME_BYTES + 1), `the limit is ${MAX_QUEUE_NAME_BYTES} bytes`],
    ['with space', 'white space'],
    ['del\x7f', 'control character'],
    ['c1\u0085', 'control character'],
    ['c1\u009f', 'control character'],
    ['lone\uD800', 'has a lone surrogate (\\uD800 at index 4)'],
    ['lone\uDC00x', 'has a lone surrogate (\\uDC00 at index 4)'],
  ])('refuses queue name %j with a message saying why', (name, message) => {
    expect(() => validateQueueName(name)).toThrow(ValidationError);
    expect(() => validateQueueName(name)).toThrow(message);
  });

  it('accepts ordinary names, including colons and dots', () => {
    expect(validateQueueName('tenant-42.invoices:monthly')).toBe('tenant-42.invoices:monthly');
    expect(validateQueueName('bücher-😀')).toBe('bücher-😀');
  });

  it("finds a queue's or a partition's guard from any of its keys, one lua/includes/keys.lua tells from the streams", () => {
    const lua = readFileSync(join(LUA_DIR, 'includes', 'keys.lua'), 'utf8');
    const suffix = /local GUARD_SUFFIX = '([^']+)'/.exec(lua)?.[1] ?? '';
    expect(suffix).toBe(':guard');
    for (const keys of [queueKeys('a:b.c', 'sluice', 3), queueKeys('emails', 'p:x', 2, { index: 2, count: 3 })]) {
      expect(keys.guard).toBe(`${keys.base}guard`);
      expect(keys.guard.endsWith(suffix)).toBe(true);
      const all = [keys.meta, keys.id, keys.events, keys.ctl, keys.workers, keys.workerInfo, keys.history, keys.schedules, keys.job('7:x'), keys.logs('7'), ...keys.groups, ...keys.streams];
      for (const key of all) {
        expect(guardKey(key)).toBe(keys.guard);
        // Same slot as the rest of the queue: the same hash tag.
        expect(hashTag(guardKey(key))).toBe(hashTag(keys.meta));
      }
      for (const stream of keys.streams) expect(stream.endsWith(suffix)).toBe(false);
    }
    expect(() => guardKey('sluice:queues')).toThrow(/not a key of a queue/);
    expect(() => guardKey('sluice:{}:meta')).toThrow(/not a key of a queue/);
  });

  it('refuses a prefix with braces or a lone surrogate', () => {
    expect(() => queueKeys('q', 'a{b', 1)).toThrow('prefix must be a non-empty string without braces');
    expect(() => queueKeys('q', 'app\uD801', 1)).toThrow('so two prefixes would be one');
  });
});

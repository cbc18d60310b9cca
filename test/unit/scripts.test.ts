import { mkdtempSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LUA_DIR, loadLua } from '../../src/redis/lua.js';
import { SCRIPTS, type ScriptSpec } from '../../src/redis/scripts.js';
import { Status } from '../../src/redis/status.js';

const scriptFiles = readdirSync(LUA_DIR)
  .filter((file) => file.endsWith('.lua'))
  .map((file) => file.slice(0, -4))
  .sort();

function header(name: string, label: 'KEYS' | 'ARGV'): string {
  const source = readFileSync(join(LUA_DIR, `${name}.lua`), 'utf8');
  const line = source.split('\n').find((l) => l.startsWith(`-- ${label}:`));
  if (line === undefined) throw new Error(`${name}.lua has no '-- ${label}:' header line`);
  return line.slice(`-- ${label}:`.length).trim();
}

function renderArgv(spec: ScriptSpec): string {
  const shared = spec.args.length === 0 ? 'none' : spec.args.join(' ');
  if (spec.perJob === undefined) return shared;
  return `${spec.args.join(' ')} jobs | per job, packed in jobs: ${spec.perJob.join(' ')}`;
}

describe('Lua scripts and their TypeScript contracts', () => {
  it('has one spec per lua/*.lua file and one file per spec', () => {
    expect(scriptFiles).toEqual(Object.keys(SCRIPTS).sort());
  });

  for (const [name, spec] of Object.entries(SCRIPTS) as [string, ScriptSpec][]) {
    it(`${name}.lua names the same KEYS and ARGV as its spec`, () => {
      expect(header(name, 'KEYS')).toBe(spec.keys.join(' '));
      // A header may explain the arguments on lines after the ARGV line; the ARGV line lists their names.
      expect(header(name, 'ARGV').split('   ')[0]?.trim()).toBe(renderArgv(spec));
    });

    it(`${name}.lua opens with its purpose, returns and loop bound`, () => {
      const source = readFileSync(join(LUA_DIR, `${name}.lua`), 'utf8');
      expect(source.startsWith(`-- ${name}: `)).toBe(true);
      expect(source).toMatch(/^-- Returns: /m);
      expect(source).toMatch(/^-- Loops: /m);
    });
  }

  it('writes the events it gathers: every script that emits flushes before it returns', () => {
    for (const name of scriptFiles) {
      const body = readFileSync(join(LUA_DIR, `${name}.lua`), 'utf8');
      const emits = /\bemit\(|\brevive\(/.test(body);
      if (emits) expect(`${name}: ${body.includes('flushEvents()')}`).toBe(`${name}: true`);
    }
  });

  it('emits events as emit() takes them: a type, then a job id and a value, or neither', () => {
    const calls: string[] = [];
    for (const name of scriptFiles) {
      const body = readFileSync(join(LUA_DIR, `${name}.lua`), 'utf8');
      for (const match of body.matchAll(/\bemit\(([^()]*(?:\([^()]*\)[^()]*)*)\)/g)) calls.push(`${name}: ${match[1]!}`);
    }
    expect(calls.length).toBeGreaterThan(10);
    // eventsKey, maxLen, kind, then id and value together or not at all: one more value would be dropped.
    const counts = calls.map((call) => call.split(',').length);
    expect(calls.filter((_, i) => counts[i] !== 3 && counts[i] !== 5)).toEqual([]);
  });

  it('status codes in Lua and TypeScript are the same table', () => {
    const source = readFileSync(join(LUA_DIR, 'includes', 'status.lua'), 'utf8');
    const lua: Record<string, number> = {};
    for (const match of source.matchAll(/^\s+([A-Z_]+) = (-?\d+),/gm)) lua[match[1]!] = Number(match[2]);
    expect(lua).toEqual(Status);
  });

  it('expands unpack() only as the last argument of a call: Lua cuts an earlier one to its first value', () => {
    // `redis.call('XCLAIM', ..., unpack(ids), 'JUSTID')` passed one id and cost every other running job of
    // a worker its lease (issue 12). Each unpack(...) is found with its matching parenthesis; what follows
    // it must not be a comma.
    const offending: string[] = [];
    for (const name of scriptFiles) {
      const source = loadLua(name).replace(/--[^\n]*/g, '');
      for (const match of source.matchAll(/\bunpack\(/g)) {
        let depth = 1;
        let at = match.index + match[0].length;
        while (at < source.length && depth > 0) {
          if (source[at] === '(') depth++;
          else if (source[at] === ')') depth--;
          at++;
        }
        if (/^\s*,/.test(source.slice(at))) offending.push(`${name}: ${source.slice(match.index, at + 12).split('\n')[0]!}`);
      }
    }
    expect(offending).toEqual([]);
  });

  it('builds user data into no script: ARGV carries it, and every script loads from files only', () => {
    for (const name of scriptFiles) {
      const source = loadLua(name);
      expect(source).not.toMatch(/loadstring|\bload\(|dofile/);
      expect(source).not.toMatch(/--@include/);
    }
  });
});

describe('the Lua include mechanism', () => {
  const made: string[] = [];
  afterAll(() => {
    for (const dir of made) rmSync(dir, { recursive: true, force: true });
  });

  function fixture(files: Record<string, string>): string {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-lua-'));
    made.push(dir);
    mkdirSync(join(dir, 'includes'));
    for (const [path, body] of Object.entries(files)) writeFileSync(join(dir, path), body);
    return dir;
  }

  it('inlines each include once, even when two includes need it', () => {
    const dir = fixture({
      'main.lua': '--@include a\n--@include b\nreturn 1',
      'includes/a.lua': '--@include shared\nlocal A = 1',
      'includes/b.lua': '--@include shared\nlocal B = 2',
      'includes/shared.lua': 'local SHARED = 0',
    });
    const source = loadLua('main', dir);
    expect(source.match(/local SHARED = 0/g)).toHaveLength(1);
    expect(source.indexOf('local SHARED')).toBeLessThan(source.indexOf('local A'));
    expect(source).toContain('local B = 2');
  });

  it('refuses a cycle, naming it', () => {
    const dir = fixture({
      'main.lua': '--@include a\nreturn 1',
      'includes/a.lua': '--@include b',
      'includes/b.lua': '--@include a',
    });
    expect(() => loadLua('main', dir)).toThrow('lua include cycle: main -> a -> b -> a');
  });
});

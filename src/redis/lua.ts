import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

/**
 * Reads lua/<name>.lua and inlines its `--@include <name>` lines from lua/includes/. Each include is
 * inlined once per script however many files ask for it (they define `local function`s, which must not be
 * defined twice); a cycle is an error. Scripts are read from files only: no Lua source is ever built from
 * input, and user data reaches scripts through ARGV alone.
 *
 * The same relative path works from src/redis (tests, tsx) and from dist/redis (the published package),
 * because both sit two levels below the package root, beside lua/.
 */
export const LUA_DIR = fileURLToPath(new URL('../../lua/', import.meta.url));

const INCLUDE = /^--@include\s+([\w-]+)\s*$/;

/**
 * `source` with its includes inlined, each once: an include named in `done` (already inlined above) becomes
 * a comment, and every include inlined here is added to `done`.
 */
function expandIncludes(source: string, dir: string, done: Set<string>, stack: readonly string[]): string {
  return source
    .split('\n')
    .map((line) => {
      const match = INCLUDE.exec(line);
      if (match === null) return line;
      const include = match[1] as string;
      if (stack.includes(include)) {
        throw new Error(`lua include cycle: ${[...stack, include].join(' -> ')}`);
      }
      if (done.has(include)) return `-- (${include} already included)`;
      done.add(include);
      const body = readFileSync(join(dir, 'includes', `${include}.lua`), 'utf8');
      return expandIncludes(body, dir, done, [...stack, include]);
    })
    .join('\n');
}

export function loadLua(name: string, dir: string = LUA_DIR): string {
  return expandIncludes(readFileSync(join(dir, `${name}.lua`), 'utf8'), dir, new Set(), [name]);
}

/** One script of a library: its name (lua/<name>.lua), and whether it only reads. */
export interface LibraryScript {
  readonly name: string;
  readonly readOnly: boolean;
}

export interface Library {
  /** `sluice_` and 16 hex digits of the source's SHA-1: a changed script is a new library. */
  readonly name: string;
  /** What FUNCTION LOAD takes. */
  readonly source: string;
  /** The function that runs script `name`. */
  readonly functions: ReadonlyMap<string, string>;
}

/**
 * The scripts as one Redis Functions library (Redis 7): every include once, at the library's top, then one
 * registered function per script whose body is the script with its includes left out. Redis runs a
 * library's top level once, at FUNCTION LOAD; an EVAL script runs its top level, every include's `local
 * function` and constant table, on every call: 31,000 to 49,000 Redis instructions per call (callgrind,
 * 2,000 calls of claim's, complete's, add's and fail's includes alone, over an EVALSHA of `return 1` at
 * 12,000), where an FCALL costs 10,400. A script's body becomes the function's body, with KEYS and ARGV as
 * its parameters (a function has no globals of that name, so includes take KEYS as an argument).
 * Read-only scripts are flagged `no-writes`: Redis then runs them on a replica and at maxmemory too, and
 * refuses any write they attempt.
 */
export function loadLibrary(scripts: readonly LibraryScript[], dir: string = LUA_DIR): Library {
  const done = new Set<string>();
  const includes = readdirSync(join(dir, 'includes'))
    .filter((file) => file.endsWith('.lua'))
    .map((file) => `--@include ${file.slice(0, -4)}`)
    .sort()
    .join('\n');
  const top = expandIncludes(includes, dir, done, ['library']);
  const NAME = '@LIBRARY@';
  const bodies = scripts.map(({ name, readOnly }) => {
    const body = expandIncludes(readFileSync(join(dir, `${name}.lua`), 'utf8'), dir, done, [name]);
    const flags = readOnly ? ", flags = { 'no-writes' }" : '';
    return (
      `redis.register_function{ function_name = '${NAME}_${name.replace(/-/g, '_')}'${flags}, callback = function(KEYS, ARGV)\n` +
      // A call that failed after emit() left its events behind in the library's EVENTS table.
      `clearEvents()\n${body}\nend }`
    );
  });
  const template = `${top}\n${bodies.join('\n')}\n`;
  const name = `sluice_${sha1(template).slice(0, 16)}`;
  const functions = new Map(scripts.map(({ name: script }) => [script, `${name}_${script.replace(/-/g, '_')}`]));
  return { name, source: `#!lua name=${name}\n${template.replaceAll(NAME, name)}`, functions };
}

export function sha1(source: string): string {
  return createHash('sha1').update(source).digest('hex');
}

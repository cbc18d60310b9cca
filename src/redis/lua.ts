import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
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

export function loadLua(name: string, dir: string = LUA_DIR): string {
  const done = new Set<string>();
  const expand = (source: string, stack: readonly string[]): string =>
    source
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
        return expand(body, [...stack, include]);
      })
      .join('\n');
  return expand(readFileSync(join(dir, `${name}.lua`), 'utf8'), [name]);
}

export function sha1(source: string): string {
  return createHash('sha1').update(source).digest('hex');
}

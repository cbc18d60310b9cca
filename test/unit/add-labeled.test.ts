import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LUA_DIR } from '../../src/redis/lua.js';

/** A script's code: its lines after the header comment, without the comments. */
function code(name: string): string[] {
  const lines = readFileSync(join(LUA_DIR, `${name}.lua`), 'utf8').split('\n');
  const start = lines.findIndex((line) => line.startsWith('--@include'));
  return lines.slice(start).filter((line) => !/^\s*--(?!@)/.test(line));
}

describe('add-labeled.lua', () => {
  it('is add.lua line for line, but for the labels: a change to one must be made to both', () => {
    const labeled = code('add-labeled');
    const plain = code('add');
    const labelLines = labeled.filter((line) => !plain.includes(line));
    expect(labelLines).toEqual([
      '--@include labels',
      'local JOB = packedFormat(9)',
      '  local id, name, data, opts, prioS, delayS, runAtS, g, labels, nextAt = struct.unpack(JOB, jobs, at)',
      '    indexLabels(base, metaKey, id, labels, createdS)',
    ]);
    expect(plain.filter((line) => !labeled.includes(line))).toEqual([
      'local JOB = packedFormat(8)',
      '  local id, name, data, opts, prioS, delayS, runAtS, g, nextAt = struct.unpack(JOB, jobs, at)',
    ]);
  });
});

import { readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = fileURLToPath(new URL('../../src/', import.meta.url));

/** Every module of src/ that `entry` loads, following its relative imports (static and dynamic). */
function reachable(entry: string): Set<string> {
  const seen = new Set<string>();
  const visit = (file: string): void => {
    if (seen.has(file)) return;
    seen.add(file);
    const source = readFileSync(file, 'utf8');
    for (const match of source.matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)\.js'/g)) {
      visit(join(dirname(file), `${match[1] as string}.ts`));
    }
  };
  visit(join(SRC, entry));
  return new Set([...seen].map((file) => relative(SRC, file)));
}

describe('package exports', () => {
  it("import 'sluice' loads no module of sluice/testing", () => {
    const loaded = reachable('index.ts');
    expect(loaded.size).toBeGreaterThan(20);
    expect([...loaded].filter((file) => file.startsWith('testing/'))).toEqual([]);
  });

  it('sluice/testing is an export of the package, with its types', () => {
    const pkg = JSON.parse(readFileSync(join(SRC, '..', 'package.json'), 'utf8')) as { exports: Record<string, { types: string; import: string }> };
    expect(pkg.exports['./testing']).toEqual({ types: './dist/testing/index.d.ts', import: './dist/testing/index.js' });
    expect(reachable('testing/index.ts').has('testing/fake-queue.ts')).toBe(true);
  });
});

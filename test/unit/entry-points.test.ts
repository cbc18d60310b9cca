import { readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * `import 'sluice'` must not load the dashboard or the testing kit (nor the metrics exporter's OpenTelemetry
 * SDK): each is an entry point of its own. Checked on the source's import graph, static and dynamic imports alike.
 */
const root = fileURLToPath(new URL('../../', import.meta.url));

/** Every module of src/ that `entry` loads, following relative imports (`.js` names the `.ts` source). */
function reachable(entry: string): Set<string> {
  const seen = new Set<string>();
  const pending = [join(root, entry)];
  for (let file = pending.pop(); file !== undefined; file = pending.pop()) {
    if (seen.has(file)) continue;
    seen.add(file);
    const source = readFileSync(file, 'utf8');
    for (const match of source.matchAll(/(?:from\s+|import\s*\(\s*|import\s+)['"](\.{1,2}\/[^'"]+)['"]/g)) {
      pending.push(join(dirname(file), (match[1] as string).replace(/\.js$/, '.ts')));
    }
  }
  return new Set([...seen].map((file) => relative(root, file)));
}

describe('entry points', () => {
  it("'sluice' loads no module of the dashboard or the testing kit", () => {
    const loaded = [...reachable('src/index.ts')];
    expect(loaded).toContain('src/queue.ts');
    expect(loaded.filter((file) => file.startsWith('src/dashboard/') || file.startsWith('src/testing/'))).toEqual([]);
  });

  it("'sluice/testing' is an export of the package, built from src/testing/index.ts", () => {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { exports: Record<string, { import: string; types: string }> };
    expect(pkg.exports['./testing']).toEqual({ types: './dist/testing/index.d.ts', import: './dist/testing/index.js' });
    expect([...reachable('src/testing/index.ts')]).toContain('src/testing/fake-queue.ts');
  });

  it("'sluice/dashboard' is an export of the package, built from src/dashboard/index.ts", () => {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { exports: Record<string, { import: string; types: string }>; files: string[] };
    expect(pkg.exports['./dashboard']).toEqual({ types: './dist/dashboard/index.d.ts', import: './dist/dashboard/index.js' });
    // The page's script and stylesheet ship in the package: the dashboard loads nothing from elsewhere.
    expect(pkg.files).toContain('assets');
    expect([...reachable('src/dashboard/index.ts')]).toContain('src/dashboard/handler.ts');
  });
});

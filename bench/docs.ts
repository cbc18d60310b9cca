/**
 * Writes docs/benchmarks.md from a comparison results file, without running anything.
 *
 *   npm run bench:docs                                  from the newest full (non-quick) results file
 *   npm run bench:docs -- bench/results/compare-X.json  from that one
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { markdown } from './report.js';
import type { CompareResults } from './results-format.js';

const RESULTS_DIR = fileURLToPath(new URL('./results/', import.meta.url));
const DOCS_FILE = fileURLToPath(new URL('../docs/benchmarks.md', import.meta.url));

function newestFull(): string {
  // compare-<ISO date>.json sorts by date; quick runs carry a -quick suffix and are skipped.
  const names = readdirSync(RESULTS_DIR)
    .filter((name) => name.startsWith('compare-') && name.endsWith('.json') && !name.endsWith('-quick.json'))
    .sort();
  const newest = names[names.length - 1];
  if (newest === undefined) throw new Error('no full results in bench/results/: run `npm run bench` first');
  return `bench/results/${newest}`;
}

function isResults(value: unknown): value is CompareResults {
  return typeof value === 'object' && value !== null && 'benchmark' in value && value.benchmark === 'compare';
}

const file = process.argv[2] ?? newestFull();
const parsed: unknown = JSON.parse(readFileSync(new URL(`../${file}`, import.meta.url), 'utf8'));
if (!isResults(parsed)) throw new Error(`${file} is not a comparison results file`);
writeFileSync(DOCS_FILE, markdown(parsed, file));
console.log(`docs/benchmarks.md written from ${file}`);

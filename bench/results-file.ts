/** Where the benches write their results: bench/results/<benchmark>-<ISO date>[...].json. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadAverage, type MachineAndLoad } from './environment.js';

const RESULTS_DIR = fileURLToPath(new URL('./results/', import.meta.url));

/** An ISO date as it goes into a file name. */
export function stamp(date: string): string {
  // Colons are not allowed in Windows file names.
  return `${date.slice(0, 19).replace(/:/g, '-')}Z`;
}

/** Writes `content` as JSON to bench/results/<name>; returns the file's full path. */
export function writeResultsFile(name: string, content: unknown): string {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const file = `${RESULTS_DIR}${name}`;
  writeFileSync(file, `${JSON.stringify(content, null, 2)}\n`);
  return file;
}

/**
 * Writes a run of the limits or throughput bench to bench/results/<benchmark>-<date>.json: its info, the
 * load average at the end added to the one at the start, and its scenarios. Returns the file's full path.
 */
export function writeRunResults(
  info: { readonly benchmark: string; readonly date: string; readonly machine: MachineAndLoad },
  scenarios: readonly unknown[],
): string {
  const machine = { ...info.machine, loadAverage: { ...info.machine.loadAverage, end: loadAverage() } };
  return writeResultsFile(`${info.benchmark}-${stamp(info.date)}.json`, { ...info, machine, scenarios });
}

/**
 * Reading redis-server's instruction counts under valgrind's callgrind, for bench/instructions.ts and
 * bench/partitions.ts (`--instructions`): the total of an output file, and a dump of what was counted so far.
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Redis } from 'ioredis';

/** callgrind writes `summary: <Ir>` (or `totals:`) into its output file. */
export function totalInstructions(file: string): number {
  const match = /^(?:summary|totals):\s+(\d+)/m.exec(readFileSync(file, 'utf8'));
  if (match === null) throw new Error(`no instruction total in ${file}`);
  return Number(match[1]);
}

/**
 * Has callgrind write what it counted since the last dump to `<out>.<n>` and start again from 0. valgrind
 * acts on the request when redis-server next runs, so it is kept busy with PINGs until the file exists.
 */
export async function dump(pid: number, out: string, n: number, admin: Redis): Promise<number> {
  const control = spawn('callgrind_control', [`--dump=phase-${n}`, String(pid)], { stdio: 'ignore' });
  const controlled = new Promise<void>((resolve) => control.once('exit', () => resolve()));
  const file = `${out}.${n}`;
  const dir = join(out, '..');
  const deadline = Date.now() + 60_000;
  while (!readdirSync(dir).includes(`callgrind.out.${n}`)) {
    if (Date.now() > deadline) throw new Error('callgrind_control did not dump within 60 s');
    await admin.ping();
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  await controlled;
  // The file is complete once callgrind_control returned; a moment more for the write to land.
  await new Promise((resolve) => setTimeout(resolve, 200));
  return totalInstructions(file);
}

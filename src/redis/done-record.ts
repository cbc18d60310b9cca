import { ScriptError } from '../errors.js';
import type { ClaimedJob } from './store.js';

/**
 * A completed job's record in the queue's done hash (lua/includes/done.lua): written by its worker, which
 * has every field of it from the claim, so the complete script stores it as it comes, a batch per HSET.
 * Parts of a 4-byte big-endian length and that many bytes, in this order; `err` and `stack` (an earlier
 * attempt's failure) are empty when it had none, `progress` is there only when there is one. Lua reads the first six with struct.unpack('>I4c0...') when a person retries the job; everything
 * else reads it here. test/lua/lifecycle-scripts.test.ts checks both ends against each other.
 */
export const DONE_PARTS = ['name', 'data', 'opts', 'ts', 'prio', 'grp', 'ats', 'atm', 'pon', 'rv', 'err', 'stack', 'progress'] as const;

/** Writes one part (its length, then its bytes) at `at`; returns where the next part goes. */
function writePart(out: Buffer, at: number, value: Buffer | string, bytes: number): number {
  out.writeUInt32BE(bytes, at);
  if (typeof value === 'string') {
    if (bytes > 0) out.write(value, at + 4, bytes);
  } else {
    value.copy(out, at + 4);
  }
  return at + 4 + bytes;
}

/** The record of `job` completed with `result`; attemptsMade counts the attempt that completed it. */
export function doneRecord(job: ClaimedJob, result: Buffer, progress: Buffer | undefined): Buffer {
  // Written straight into one buffer, without closures: a Buffer per part made this 3% of a worker's CPU
  // (node --cpu-prof of a drain).
  const ts = String(job.timestamp);
  const prio = String(job.priority);
  const started = String(job.attemptsStarted);
  const made = String(job.attemptsMade + 1);
  const processed = String(job.processedOn);
  const nameBytes = Buffer.byteLength(job.name);
  const groupBytes = job.group === '' ? 0 : Buffer.byteLength(job.group);
  const errBytes = job.failedReason === '' ? 0 : Buffer.byteLength(job.failedReason);
  const stackBytes = job.stacktrace === '' ? 0 : Buffer.byteLength(job.stacktrace);
  const size =
    48 + nameBytes + job.data.length + job.opts.length + ts.length + prio.length + groupBytes + started.length + made.length +
    processed.length + result.length + errBytes + stackBytes + (progress === undefined ? 0 : 4 + progress.length);
  const out = Buffer.allocUnsafe(size);
  let at = writePart(out, 0, job.name, nameBytes);
  at = writePart(out, at, job.data, job.data.length);
  at = writePart(out, at, job.opts, job.opts.length);
  at = writePart(out, at, ts, ts.length);
  at = writePart(out, at, prio, prio.length);
  at = writePart(out, at, job.group, groupBytes);
  at = writePart(out, at, started, started.length);
  at = writePart(out, at, made, made.length);
  at = writePart(out, at, processed, processed.length);
  at = writePart(out, at, result, result.length);
  at = writePart(out, at, job.failedReason, errBytes);
  at = writePart(out, at, job.stacktrace, stackBytes);
  if (progress !== undefined) writePart(out, at, progress, progress.length);
  return out;
}

/**
 * A done record read back into the field names of a job hash (lua/includes/record.lua), so Job.fromRaw reads
 * a completed job as it reads any other; `finishedOn` is its score in the completed set.
 */
export function readDoneRecord(record: Buffer, finishedOn: string, progress: Buffer | null): Map<string, Buffer> {
  const raw = new Map<string, Buffer>([
    ['state', Buffer.from('completed')],
    ['fon', Buffer.from(finishedOn)],
  ]);
  let at = 0;
  for (const name of DONE_PARTS) {
    if (at === record.length) break;
    if (at + 4 > record.length) throw new ScriptError(`a completed job's record is cut short at byte ${at} of ${record.length}`);
    const length = record.readUInt32BE(at);
    if (at + 4 + length > record.length) throw new ScriptError(`a completed job's record is cut short in its ${name}`);
    const value = record.subarray(at + 4, at + 4 + length);
    at += 4 + length;
    if ((name === 'grp' || name === 'err' || name === 'stack') && length === 0) continue;
    raw.set(name, value);
  }
  if (progress !== null) raw.set('progress', progress);
  return raw;
}

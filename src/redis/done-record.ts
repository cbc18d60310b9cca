import { ScriptError } from '../errors.js';
import { lengthPrefixed } from './packed.js';
import type { ClaimedJob } from './store.js';

/**
 * A completed job's record in the queue's done hash (lua/includes/done.lua): written by its worker, which
 * has every field of it from the claim, so the complete script stores it as it comes, a batch per HSET.
 * Its parts are length-prefixed (packed.ts), in this order; `err` and `stack` (an earlier attempt's
 * failure) are empty when it had none, `progress` is there only when there is one. Lua reads the first six
 * with struct.unpack('>I4c0...') when a person retries the job; everything else reads it here.
 * test/lua/lifecycle-scripts.test.ts checks both ends against each other.
 */
export const DONE_PARTS = ['name', 'data', 'opts', 'ts', 'prio', 'grp', 'ats', 'atm', 'pon', 'rv', 'err', 'stack', 'progress'] as const;

/** The record of `job` completed with `result`; attemptsMade counts the attempt that completed it. */
export function doneRecord(job: ClaimedJob, result: Buffer, progress: Buffer | undefined): Buffer {
  const parts: (Buffer | string)[] = [
    job.name,
    job.data,
    job.opts,
    String(job.timestamp),
    String(job.priority),
    job.group,
    String(job.attemptsStarted),
    String(job.attemptsMade + 1),
    String(job.processedOn),
    result,
    job.failedReason,
    job.stacktrace,
  ];
  if (progress !== undefined) parts.push(progress);
  return lengthPrefixed(parts);
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

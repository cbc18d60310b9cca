import { RECORD_PARTS, readJob, type ClaimedJob, type StoredJob, type StoredName } from './job-fields.js';
import { lengthPrefixed } from './packed.js';

/**
 * A completed job's record in the queue's done hash (lua/includes/done.lua): written by its worker, which
 * has every field of it from the claim, so the complete script stores it as it comes, a batch per HSET.
 * Its parts are length-prefixed (packed.ts), named and ordered by RECORD_PARTS (job-fields.ts); `err` and
 * `stack` (an earlier attempt's failure) and `progress` are empty when it had none; `by` is the worker's
 * consumer name (job.processedBy): about 30 bytes more per retained completed job. Records written before
 * `by` existed end after `stack`, or after a non-empty `progress`, and read as jobs without processedBy. Lua reads the first six with struct.unpack('>I4c0...') when a person retries the job; everything
 * else reads it here. test/lua/lifecycle-scripts.test.ts checks both ends against each other.
 *
 * A job that jobs of its traced flow wait for (options.ts TRACE_PASS_KEY) has one part more after `by`: its
 * process span's context, encoded, which its complete copies into the deps hashes of the jobs waiting for
 * it (lua/includes/dependents.lua) for their process spans to link to. Readers here stop after `by`.
 */

/**
 * The record of `job` completed with `result` by the worker `by`; attemptsMade counts the attempt that
 * completed it. `trace`: its process span's context, for a job others of its flow wait for.
 */
export function doneRecord(job: ClaimedJob, result: Buffer, progress: Buffer | undefined, by: string, trace?: Buffer): Buffer {
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
    // Empty for none: msgpack never encodes a value in zero bytes.
    progress ?? '',
    by,
  ];
  if (trace !== undefined) parts.push(trace);
  return lengthPrefixed(parts);
}

/** Parts that are left out of a job when empty: no group, no earlier failure, no progress. */
const EMPTY_IS_NONE = new Set<StoredName>(['grp', 'err', 'stack', 'progress']);
/** Parts a record may end before: progress and by, which records written before processedBy left out. */
const REQUIRED_PARTS = RECORD_PARTS.indexOf('progress');

/**
 * A done record read back; `finishedOn` is its score in the completed set, `progress` a progress recorded
 * after it completed (in its hash), which wins over the record's.
 */
export function readDoneRecord(id: string, record: Buffer, finishedOn: Buffer, progress: Buffer | undefined): StoredJob {
  const parts = new Map<StoredName, Buffer>([['fon', finishedOn]]);
  let problem: string | undefined;
  let at = 0;
  let read = 0;
  for (const name of RECORD_PARTS) {
    if (at === record.length) {
      if (read < REQUIRED_PARTS) problem = `its completed record has ${read} of ${REQUIRED_PARTS} parts`;
      break;
    }
    if (at + 4 > record.length) {
      problem = `its completed record is cut short at byte ${at} of ${record.length}`;
      break;
    }
    const length = record.readUInt32BE(at);
    if (at + 4 + length > record.length) {
      problem = `its completed record is cut short in part '${name}'`;
      break;
    }
    const value = record.subarray(at + 4, at + 4 + length);
    at += 4 + length;
    read++;
    if (length > 0 || !EMPTY_IS_NONE.has(name)) parts.set(name, value);
  }
  if (progress !== undefined) parts.set('progress', progress);
  return readJob(id, 'completed', (name) => parts.get(name), false, problem);
}

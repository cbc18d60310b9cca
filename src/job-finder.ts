import { ValidationError } from './errors.js';
import { assertLabel } from './labels.js';
import { assertGroupName, assertInteger } from './options.js';
import type { StoredJob } from './redis/job-fields.js';
import { LabelStore } from './redis/label-store.js';
import type { QueueStore } from './redis/store.js';
import type { JobState } from './states.js';

/**
 * The filter form of `queue.getJobs(state, filter)`: jobs in a state with a label, a name or a group.
 *
 * What it reads: with `label`, the label index (its completed or failed jobs are sets of their own, read by
 * position; its waiting, delayed and active jobs are one set, each looked up to keep those in the state);
 * with `group` and state `waiting` and no label, the group's waiting set. A name, and a group in any other
 * state, have no index: they are checked on the jobs read, going through the state (or the label's jobs) in
 * order, and no more than `scanLimit` jobs are looked at.
 */
export interface JobFilter {
  /**
   * Only jobs with this label (the job option `labels`), read from the label index.
   *
   * @defaultValue none: any labels
   */
  label?: string;
  /**
   * Only jobs of this name: checked on the jobs read, not an index.
   *
   * @defaultValue none: any name
   */
  name?: string;
  /**
   * Only jobs of this group: its waiting set for state `waiting` without a label, else checked on the jobs read.
   *
   * @defaultValue none: any group, or none
   */
  group?: string;
  /**
   * First position among the matches, from 0.
   *
   * @defaultValue `0`
   */
  start?: number;
  /**
   * Last position among the matches, inclusive.
   *
   * @defaultValue `start + 99`: a page of 100
   */
  end?: number;
  /**
   * Most jobs looked at when something is checked on the jobs read (a name, a group outside its waiting set,
   * the state of a label's unfinished jobs), 1 to 1,000,000, in script calls of at most 1,000. Matches past
   * it are not found: the dashboard shows how far it looked.
   *
   * @defaultValue `10000`
   */
  scanLimit?: number;
}

/** What a filtered read found: the page of matches, how many jobs it looked at, and whether it saw them all. */
export interface FoundJobs {
  jobs: StoredJob[];
  looked: number;
  /** The whole source was looked through: no match was left out by scanLimit. */
  complete: boolean;
}

/** Index entries (or jobs of a state) looked at per script call: about a millisecond of Redis time. */
const WINDOW = 1000;
export const DEFAULT_SCAN_LIMIT = 10_000;

/** Whether `value` is a filter (getJobs' second form) rather than a start position. */
export function isJobFilter(value: unknown): value is JobFilter {
  return typeof value === 'object' && value !== null;
}

/** Checks a filter; throws ValidationError naming what is wrong. */
function checked(filter: JobFilter): Required<Pick<JobFilter, 'start' | 'end' | 'scanLimit'>> & JobFilter {
  for (const key of Object.keys(filter)) {
    if (!['label', 'name', 'group', 'start', 'end', 'scanLimit'].includes(key)) {
      throw new ValidationError(`getJobs: unknown filter field '${key}'; known ones are label, name, group, start, end, scanLimit`);
    }
  }
  const start = filter.start === undefined ? 0 : assertInteger('getJobs filter start', filter.start, 0);
  const end = filter.end === undefined ? start + 99 : assertInteger('getJobs filter end', filter.end, start);
  const scanLimit = filter.scanLimit === undefined ? DEFAULT_SCAN_LIMIT : assertInteger('getJobs filter scanLimit', filter.scanLimit, 1, 1_000_000);
  if (filter.label !== undefined) assertLabel(filter.label);
  if (filter.group !== undefined) assertGroupName(filter.group);
  if (filter.name !== undefined && (typeof filter.name !== 'string' || filter.name.length === 0)) {
    throw new ValidationError(`getJobs filter name must be a non-empty string, got ${JSON.stringify(filter.name)}`);
  }
  return { ...filter, start, end, scanLimit };
}

/** Jobs in `state` that match `filter`, positions start to end among the matches (see JobFilter). */
export async function findJobs(store: QueueStore, state: JobState, raw: JobFilter): Promise<FoundJobs> {
  const filter = checked(raw);
  const { label, name, group, start, end, scanLimit } = filter;
  const index = LabelStore.of(store);
  const byGroupSet = label === undefined && group !== undefined && state === 'waiting';
  const read =
    label !== undefined
      ? (from: number, count: number) => index.window(state, label, '', from, count)
      : byGroupSet
        ? (from: number, count: number) => index.window(state, '', group, from, count)
        : async (from: number, count: number) => {
            const jobs = await store.getJobs(state, from, from + count - 1);
            return { looked: jobs.length, jobs };
          };
  const nameOk = (job: StoredJob): boolean => name === undefined || job.name === name;
  const groupOk = (job: StoredJob): boolean => group === undefined || byGroupSet || job.group === group;

  // A label's completed or failed jobs with nothing else to check: every entry matches, read by position.
  if (label !== undefined && name === undefined && group === undefined && (state === 'completed' || state === 'failed')) {
    const jobs: StoredJob[] = [];
    let from = start;
    for (;;) {
      const count = Math.min(WINDOW, end + 1 - from);
      const window = await read(from, count);
      jobs.push(...window.jobs);
      from += window.looked;
      if (window.looked < count) return { jobs, looked: from - start, complete: true };
      if (from > end) return { jobs, looked: from - start, complete: false };
    }
  }
  // Group in waiting without a name: the same, from the group's set.
  if (byGroupSet && name === undefined) {
    const window = await read(start, end + 1 - start);
    return { jobs: window.jobs, looked: window.looked, complete: window.looked < end + 1 - start };
  }

  const matches: StoredJob[] = [];
  let looked = 0;
  while (looked < scanLimit && matches.length <= end) {
    const count = Math.min(WINDOW, scanLimit - looked);
    const window = await read(looked, count);
    looked += window.looked;
    for (const job of window.jobs) if (nameOk(job) && groupOk(job)) matches.push(job);
    if (window.looked < count) return { jobs: matches.slice(start, end + 1), looked, complete: true };
  }
  return { jobs: matches.slice(start, end + 1), looked, complete: false };
}

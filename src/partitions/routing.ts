/**
 * Which partition of a partitioned queue a job goes to, and where a job id is found: the one rule producers
 * and readers share (docs/guide/redis-setup.md, "Partitioned queues").
 *
 * - A job with a `group` goes where its group hashes: a group's order, limits and concurrency stay exact.
 * - Else a job with a `jobId` goes where its id hashes: dedupe by id stays exact.
 * - Else the producer takes the partitions in turn, from a random start per Queue.
 * - A generated id says its partition: partition p's id counter starts at p * ID_SPAN, so the id divided by
 *   ID_SPAN is p (partition 0's ids are today's small numbers). A given id is never all digits (options.ts
 *   refuses those), so the two kinds cannot be confused.
 *
 * The hash is FNV-1a (32 bits) of the UTF-8 bytes, modulo N: a few lines in any language, stable forever.
 */

/**
 * 10^13 ids per partition: 6 years of one master's whole add rate (50,000 a second), and with at most 100
 * partitions (placement.ts MAX_PARTITIONS) the largest id, 10^15 - 1, keeps to the 15 digits a Lua number
 * holds exactly (lua/includes/job-fields.lua reads counts to 15 digits).
 */
export const ID_SPAN = 10 ** 13;

const DIGITS = /^\d+$/;

/** FNV-1a, 32 bits, of the UTF-8 bytes of `text`. */
export function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(text)) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash >>> 0;
}

/** The first id partition `index` hands out is this plus 1 (its counter's starting value). */
export function idFloor(index: number): number {
  return index * ID_SPAN;
}

/**
 * The partition that holds job `id`: by its number for a generated id, by its hash for a given one; -1 for
 * a number no partition of `count` hands out.
 */
export function partitionOfId(id: string, count: number): number {
  if (!DIGITS.test(id)) return fnv1a(id) % count;
  const index = Math.floor(Number(id) / ID_SPAN);
  return index < count ? index : -1;
}

/** The partition of a group's jobs. */
export function partitionOfGroup(group: string, count: number): number {
  return fnv1a(group) % count;
}

/** A producer's turn over the partitions for jobs without a group or an id. */
export class RoundRobin {
  #next: number;

  constructor(private readonly count: number) {
    // Producers that start together would otherwise all begin on partition 0.
    this.#next = Math.floor(Math.random() * count);
  }

  next(): number {
    const index = this.#next;
    this.#next = index + 1 === this.count ? 0 : index + 1;
    return index;
  }
}

/** Where an add goes: by group, else by jobId, else in turn. `group` and `jobId` are '' when absent. */
export function routeJob(group: string, jobId: string, count: number, turn: RoundRobin): number {
  if (group !== '') return partitionOfGroup(group, count);
  if (jobId !== '') return fnv1a(jobId) % count;
  return turn.next();
}

import { crc16, keySlot, SLOTS } from '../redis/slot.js';

/** Where one partition lives (queue.getPartitions()). */
export interface PartitionInfo {
  /** The partition's index, 0 to `partitions - 1`; partition 0 has the unpartitioned layout. */
  index: number;
  /** Its hash tag: `CLUSTER KEYSLOT <tag>` names its slot, and `CLUSTER SHARDS` (or `CLUSTER NODES`) its master. */
  tag: string;
  /** The Redis Cluster slot of its tag, as `CLUSTER KEYSLOT` computes it. */
  slot: number;
  /** `host:port` of the server that serves the slot now (the Redis itself when not a cluster). */
  server: string | undefined;
}

/**
 * Where the partitions of a partitioned queue live: the hash tag of each, chosen so that N partitions sit on
 * N distinct slots spread evenly over the 16,384 (on a cluster whose masters split the slots evenly, N
 * partitions on N masters then land on N different masters). Pure: no Redis, no key names (keys.ts builds
 * those from the tags).
 *
 * The rule (docs/guide/redis-setup.md, "Partitioned queues", says it to users):
 * - partition 0's tag is the queue's name, so partition 0 is the unpartitioned queue's layout exactly;
 * - partition p (1 <= p < N) aims at slot (slot(name) + floor(p * 16384 / N)) mod 16384, and its tag is
 *   `<name>|<p>|<s>` with `<s>` the first string of 1 to 4 characters of ALPHABET, shortest first and in
 *   ALPHABET's order, that puts the tag on exactly that slot.
 * An even split of 16,384 slots over M masters gives each a run of 16384/M slots, and the targets are
 * 16384/N apart, so with N = M each master's run holds one target (with N = k*M, k of them).
 */

/** 100 partitions: generated ids carry their partition in their top digits (routing.ts) and stay within 15 digits. */
export const MAX_PARTITIONS = 100;

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
/**
 * 62 + 62^2 + 62^3 = 242,234 candidates of up to 3 characters miss a given slot with probability
 * (1 - 1/16384)^242234 = 4e-7; the 4-character ones make a miss impossible in practice.
 */
const MAX_SUFFIX = 4;

/** The slot partition `index` of `count` aims at: evenly spaced from the name's own slot. */
export function targetSlot(name: string, index: number, count: number): number {
  return (keySlot(`{${name}}`) + Math.floor((index * SLOTS) / count)) % SLOTS;
}

const cache = new Map<string, string>();

/** The hash tag of partition `index` of `count` (the part of its keys between the braces). */
export function partitionTag(name: string, index: number, count: number): string {
  if (index === 0) return name;
  const cacheKey = `${count}|${index}|${name}`;
  const known = cache.get(cacheKey);
  if (known !== undefined) return known;
  const start = `${name}|${index}|`;
  const startCrc = crc16(Buffer.from(start));
  const target = targetSlot(name, index, count);
  const found = search(startCrc, target);
  if (found === undefined) throw new Error(`no suffix of up to ${MAX_SUFFIX} characters puts '${start}' on slot ${target}: a bug, please report it`);
  const tag = start + found;
  cache.set(cacheKey, tag);
  return tag;
}

/** The first suffix, shortest first and in ALPHABET order, whose CRC continued from `startCrc` hits `target`. */
function search(startCrc: number, target: number): string | undefined {
  const bytes = Buffer.from(ALPHABET);
  const digits: number[] = [];
  for (let length = 1; length <= MAX_SUFFIX; length++) {
    digits.length = length;
    digits.fill(0);
    const suffix = new Uint8Array(length);
    for (;;) {
      for (let i = 0; i < length; i++) suffix[i] = bytes[digits[i] as number] as number;
      if ((crc16(suffix, startCrc) & (SLOTS - 1)) === target) return Buffer.from(suffix).toString();
      // The next suffix of this length, the last character turning fastest.
      let i = length - 1;
      while (i >= 0 && (digits[i] as number) === ALPHABET.length - 1) digits[i--] = 0;
      if (i < 0) break;
      digits[i] = (digits[i] as number) + 1;
    }
  }
  return undefined;
}

import { describe, expect, it } from 'vitest';
import { queueKeys } from '../../src/keys.js';
import { keySlot, SLOTS } from '../../src/redis/slot.js';

/**
 * An independent CRC16-XMODEM, bit by bit from the cluster spec's definition (polynomial 0x1021, init 0,
 * no reflection), so the slots below are not checked only against the code they check.
 */
function referenceSlot(key: string): number {
  const bytes = Buffer.from(key);
  const open = bytes.indexOf('{');
  const close = open === -1 ? -1 : bytes.indexOf('}', open + 1);
  const hashed = close > open + 1 ? bytes.subarray(open + 1, close) : bytes;
  let crc = 0;
  for (const byte of hashed) {
    for (let bit = 7; bit >= 0; bit--) {
      const top = ((crc >> 15) & 1) ^ ((byte >> bit) & 1);
      crc = ((crc << 1) & 0xffff) ^ (top === 1 ? 0x1021 : 0);
    }
  }
  return crc % SLOTS;
}

describe('Redis Cluster key slots', () => {
  it("match the cluster spec's examples", () => {
    // The spec's check value: CRC16-XMODEM('123456789') = 0x31C3; and CLUSTER KEYSLOT foo = 12182.
    expect(keySlot('123456789')).toBe(0x31c3);
    expect(keySlot('foo')).toBe(12182);
    expect(referenceSlot('foo')).toBe(12182);
    // Hash tags: the first '{' to the next '}', when not empty.
    expect(keySlot('{user1000}.following')).toBe(keySlot('{user1000}.followers'));
    expect(keySlot('{user1000}.following')).toBe(keySlot('user1000'));
    expect(keySlot('foo{}{bar}')).toBe(referenceSlot('foo{}{bar}'));
    expect(keySlot('foo{}{bar}')).not.toBe(keySlot('bar'));
    expect(keySlot('foo{{bar}}zap')).toBe(keySlot('{bar'));
  });

  it('agree with the reference on many keys', () => {
    for (let i = 0; i < 2000; i++) {
      const key = `k${i}:${(i * 7919).toString(36)}${i % 3 === 0 ? `{t${i % 50}}` : ''}`;
      expect(keySlot(key), key).toBe(referenceSlot(key));
    }
  });

  it('put every key of a queue, per-job and per-group keys included, in the slot of its name', () => {
    for (const name of ['emails', 'tenant-42.invoices:monthly', 'a', 'x'.repeat(100)]) {
      const keys = queueKeys(name, 'sluice', 4);
      const all = [
        keys.meta,
        keys.id,
        keys.delayed,
        keys.completed,
        keys.failed,
        keys.events,
        keys.ctl,
        keys.rate,
        keys.admit,
        ...keys.wait,
        ...keys.streams,
        ...keys.groups,
        keys.job('1'),
        keys.job('custom:id{with}braces'),
        keys.logs('1'),
        keys.groupWait('tenant {7}'),
        // Built in Lua from base (lua/includes/keys.lua), for example a group's rate log:
        `${keys.base}group:g:rate`,
      ];
      const slots = new Set(all.map(referenceSlot));
      expect(slots.size, name).toBe(1);
      expect([...slots][0]).toBe(referenceSlot(name));
      expect(new Set(all.map(keySlot))).toEqual(slots);
    }
  });
});

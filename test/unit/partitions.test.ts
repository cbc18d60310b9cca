import { describe, expect, it } from 'vitest';
import { queueKeys } from '../../src/keys.js';
import { MAX_PARTITIONS, partitionTag, targetSlot } from '../../src/partitions/placement.js';
import { fnv1a, ID_SPAN, partitionOfGroup, partitionOfId, RoundRobin, routeJob } from '../../src/partitions/routing.js';
import { keySlot, SLOTS } from '../../src/redis/slot.js';
import { ClaimGate } from '../../src/worker/claim-gate.js';
import { Slots } from '../../src/worker/slots.js';

describe('partition placement', () => {
  it('puts N partitions on N distinct slots exactly 16384/N apart, partition 0 on the name', () => {
    for (const name of ['emails', 'orders', 'tenant-42.invoices.monthly', 'ünïcødé']) {
      for (const count of [2, 3, 7, 10, MAX_PARTITIONS]) {
        const slots = Array.from({ length: count }, (_, p) => keySlot(`{${partitionTag(name, p, count)}}`));
        expect(slots[0]).toBe(keySlot(`{${name}}`));
        expect(new Set(slots).size).toBe(count);
        slots.forEach((slot, p) => {
          expect(slot).toBe(targetSlot(name, p, count));
          const step = (slot - (slots[0] as number) + SLOTS) % SLOTS;
          expect(step).toBe(Math.floor((p * SLOTS) / count));
        });
      }
    }
  });

  it('names a partition by `<name>|<p>|<suffix>`, its keys after `}p:`; an unpartitioned name cannot reach them', () => {
    const tag = partitionTag('emails', 1, 3);
    expect(tag).toMatch(/^emails\|1\|[0-9A-Za-z]{1,4}$/);
    const keys = queueKeys('emails', 'sluice', 3, { index: 1, count: 3 });
    expect(keys.meta).toBe(`sluice:{${tag}}p:meta`);
    expect(keys.partition).toMatchObject({ index: 1, count: 3, firstMeta: 'sluice:{emails}:meta' });
    expect(keys.partition.firstStreams).toEqual(queueKeys('emails', 'sluice', 3).streams);
    // The same name unpartitioned: the keys partition 0 has.
    expect(queueKeys('emails', 'sluice', 3, { index: 0, count: 3 }).meta).toBe(queueKeys('emails', 'sluice', 3).meta);
    expect(queueKeys(tag, 'sluice', 3).meta).toBe(`sluice:{${tag}}:meta`);
  });
});

describe('partition routing', () => {
  it('hashes with FNV-1a over UTF-8 bytes (the published test vectors)', () => {
    expect(fnv1a('')).toBe(0x811c9dc5);
    expect(fnv1a('a')).toBe(0xe40c292c);
    expect(fnv1a('foobar')).toBe(0xbf9cf968);
  });

  it('routes by group, then jobId, then in turn; a generated id names its partition', () => {
    const turn = new RoundRobin(4);
    expect(routeJob('tenant-1', 'order-1', 4, turn)).toBe(partitionOfGroup('tenant-1', 4));
    expect(routeJob('', 'order-1', 4, turn)).toBe(partitionOfId('order-1', 4));
    const turns = Array.from({ length: 8 }, () => routeJob('', '', 4, turn));
    expect(new Set(turns.slice(0, 4)).size).toBe(4);
    expect(turns.slice(4)).toEqual(turns.slice(0, 4));
    expect(partitionOfId('42', 4)).toBe(0);
    expect(partitionOfId(String(3 * ID_SPAN + 1), 4)).toBe(3);
    expect(partitionOfId(String(4 * ID_SPAN + 1), 4)).toBe(-1);
  });
});

describe('Slots', () => {
  it('takes at most what is free, and a slot given back wakes the first waiter, which passes on what is left', async () => {
    const slots = new Slots(4);
    expect(slots.take(3)).toBe(3);
    expect(slots.take(3)).toBe(1);
    expect(slots.free).toBe(0);
    const a = {};
    const b = {};
    const woken: string[] = [];
    void slots.wait(a).then(() => woken.push('a'));
    void slots.wait(b).then(() => woken.push('b'));
    slots.give(2);
    await Promise.resolve();
    expect(woken).toEqual(['a']);
    // a takes one of the two: b is woken for the other.
    expect(slots.take(1)).toBe(1);
    await Promise.resolve();
    expect(woken).toEqual(['a', 'b']);
    const c = {};
    let cancelled = false;
    void slots.wait(c).then(() => (cancelled = true));
    slots.cancel(c);
    await Promise.resolve();
    expect(cancelled).toBe(true);
  });
});

describe('ClaimGate (one per Worker, shared by its partitions\' loops)', () => {
  it('pauses every loop, resolving once no loop\'s claim is out; resized, parks or wakes them', async () => {
    const gate = new ClaimGate(4, 2, false);
    const a = {};
    const b = {};
    // Two loops' claims out at once.
    let answerA: () => void = () => undefined;
    let answerB: () => void = () => undefined;
    expect(gate.take()).toBe(2);
    const claimA = gate.track(new Promise<void>((resolve) => (answerA = resolve)));
    expect(gate.take()).toBe(2);
    const claimB = gate.track(new Promise<void>((resolve) => (answerB = resolve)));
    expect(gate.closed()).toBe(true);
    let paused = false;
    const pausing = gate.pause().then(() => (paused = true));
    answerA();
    await claimA;
    await Promise.resolve();
    expect(paused).toBe(false);
    answerB();
    await claimB;
    await pausing;
    expect(paused).toBe(true);
    // Paused: slots given back, and still nothing to take.
    gate.give(4);
    expect(gate.closed()).toBe(true);
    expect(gate.take()).toBe(0);
    let woken = false;
    void gate.park(a).then(() => (woken = true));
    gate.resume();
    await Promise.resolve();
    expect(woken).toBe(true);
    // Lowered below what is taken: closed until enough is given back; raised: a parked loop wakes.
    expect(gate.take()).toBe(2);
    expect(gate.take()).toBe(2);
    gate.concurrency = 2;
    expect(gate.concurrency).toBe(2);
    gate.give(1);
    expect(gate.closed()).toBe(true);
    let raised = false;
    void gate.park(b).then(() => (raised = true));
    gate.concurrency = 6;
    await Promise.resolve();
    expect(raised).toBe(true);
    // 3 of the 6 are taken: a claim takes the other 3.
    expect(gate.take()).toBe(3);
    expect(() => (gate.concurrency = 0)).toThrow(/worker.concurrency/);
  });
});

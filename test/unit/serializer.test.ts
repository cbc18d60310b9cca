import { describe, expect, it } from 'vitest';
import { EncodeError, PayloadTooLargeError } from 'sluice';
import { decode, encode } from '../../src/serializer.js';

describe('payload encoding', () => {
  it('round-trips plain data, dates, bytes and big integers', () => {
    const value = { s: 'x', n: 1.5, b: true, nil: null, list: [1, 'two'], at: new Date(0), bytes: Buffer.from([1, 2]), big: 2n ** 70n };
    const back = decode<typeof value>(encode(value, 'job data', 1024));
    expect(back?.at).toEqual(new Date(0));
    expect(back?.big).toBe(2n ** 70n);
    expect(Buffer.from(back?.bytes ?? [])).toEqual(Buffer.from([1, 2]));
    expect(back?.list).toEqual([1, 'two']);
  });

  it.each<[string, unknown, string]>([
    ['a function', { send: () => 1 }, 'job data.send is a function'],
    ['a symbol', { s: Symbol('x') }, 'job data.s is a symbol'],
    ['a Map', { m: new Map() }, 'job data.m is a Map; it would come back as a plain object'],
    ['a Set', [new Set()], 'job data[0] is a Set'],
  ])('refuses %s, naming where it is', (_label, value, message) => {
    expect(() => encode(value, 'job data', 1024)).toThrow(EncodeError);
    expect(() => encode(value, 'job data', 1024)).toThrow(message);
  });

  it('refuses circular data instead of overflowing the stack', () => {
    const loop: Record<string, unknown> = {};
    loop.self = loop;
    expect(() => encode(loop, 'job data', 1024)).toThrow('nested more than 64 levels deep; is the data circular?');
  });

  it('refuses a payload over the limit, saying both sizes and what to do', () => {
    const error = (() => {
      try {
        encode({ blob: 'x'.repeat(2000) }, 'job data', 1000);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(PayloadTooLargeError);
    expect((error as PayloadTooLargeError).limit).toBe(1000);
    expect((error as PayloadTooLargeError).size).toBeGreaterThan(2000);
    expect((error as Error).message).toContain('raise the queue option maxPayloadBytes');
  });
});

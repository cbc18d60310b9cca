import { describe, expect, it } from 'vitest';
import { DecodeError, EncodeError, PayloadTooLargeError } from 'sluice';
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

  it("refuses an own '__proto__' key (JSON.parse makes them), which decoding would rename", () => {
    const parsed: unknown = JSON.parse('{"ok": 1, "nested": {"__proto__": {"polluted": true}}}');
    expect(() => encode(parsed, 'job data', 1024)).toThrow("job data.nested has an own '__proto__' key");
  });

  it("decodes a '__proto__' key written by another encoder without touching any prototype", () => {
    // msgpack written by hand, as another client could: {"__proto__": {"polluted": true}}
    const key = Buffer.from('__proto__');
    const inner = Buffer.from('polluted');
    const bytes = Buffer.concat([Buffer.from([0x81, 0xa0 | key.length]), key, Buffer.from([0x81, 0xa0 | inner.length]), inner, Buffer.from([0xc3])]);
    const back = decode<Record<string, unknown>>(bytes);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.getPrototypeOf(back)).toBe(Object.prototype);
    expect((back as { polluted?: unknown }).polluted).toBeUndefined();
  });

  it('throws DecodeError, naming the value, on bytes that are not msgpack', () => {
    // A 5-byte string header followed by one byte: cut short, as a truncated write would leave it.
    const cut = Buffer.from([0xa5, 0x41]);
    expect(() => decode(cut, "job '7' data")).toThrow(DecodeError);
    expect(() => decode(cut, "job '7' data")).toThrow("job '7' data (2 bytes) is not valid msgpack: Unexpected end");
  });

  // msgpack another client could write: msgpackr's extensions for Set (0x73), Error (0x65), RegExp (0x78),
  // its 0xC1 marker, and a record definition (ext 0x72) with a record that uses it.
  it.each<[string, string, string]>([
    ['a Set', 'd473009101', 'job data (a Set)'],
    ['an Error', 'd4650093a54572726f72a178d40000', 'job data (a Error)'],
    ['a RegExp', 'd4780092a26162a167', 'job data (a RegExp)'],
    ['the 0xC1 marker', '81a161c1', 'job data.a (a C1Type)'],
    ['a msgpackr record', '92d4724091a161014002', 'it holds a msgpackr record definition, which is not plain msgpack'],
  ])('refuses stored bytes that decode to %s, as DecodeError', (_label, hex, message) => {
    expect(() => decode(Buffer.from(hex, 'hex'), 'job data')).toThrow(DecodeError);
    expect(() => decode(Buffer.from(hex, 'hex'), 'job data')).toThrow(message);
  });

  it('refuses a record definition in a long payload too (past 256 bytes the marker is looked for another way)', () => {
    const long = Buffer.concat([Buffer.from('92', 'hex'), encode('x'.repeat(300), 'pad', 1000), Buffer.from('d4724091a16101', 'hex')]);
    expect(long.length).toBeGreaterThan(256);
    expect(() => decode(long, 'job data')).toThrow('it holds a msgpackr record definition');
    const plain = { blob: Buffer.concat([Buffer.alloc(300, 0x72), Buffer.from([0xd4, 0x72])]) };
    expect(Buffer.from(decode<typeof plain>(encode(plain, 'job data', 1024))?.blob ?? [])).toEqual(plain.blob);
  });

  it('reads plain data that merely holds the bytes of a record marker (in a Buffer, a float)', () => {
    const value = { blob: Buffer.from([0xd4, 0x72, 0x40, 0xd5, 0x72]), n: 64, m: 127, list: [65, { x: 100 }] };
    const back = decode<typeof value>(encode(value, 'job data', 1024));
    expect(Buffer.from(back?.blob ?? [])).toEqual(value.blob);
    expect([back?.n, back?.m, back?.list]).toEqual([64, 127, [65, { x: 100 }]]);
  });
});

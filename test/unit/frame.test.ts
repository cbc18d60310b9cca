import { Command } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { frame } from '../../src/redis/frame.js';

/** mulberry32: the same 500 argument lists on every run, so a failure can be replayed. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const PIECES = ['a', 'sluice', '{q}:meta', ' ', '\r\n', '$', '*', 'é', 'ß', '中文', '😀', '\u0000', '\ud800', 'ÿ'];

function argument(next: () => number): string | number | Buffer {
  const kind = Math.floor(next() * 6);
  const length = next() < 0.1 ? 0 : Math.floor(next() * (next() < 0.1 ? 5000 : 40));
  switch (kind) {
    case 0: {
      let text = '';
      for (let i = 0; i < length; i++) text += PIECES[Math.floor(next() * PIECES.length)];
      return text;
    }
    case 1:
      return 'x'.repeat(length);
    case 2:
      return Buffer.from(Array.from({ length }, () => Math.floor(next() * 256)));
    case 3:
      return Math.floor((next() - 0.5) * 2 ** (next() * 60));
    case 4:
      return (next() - 0.5) * 10 ** Math.floor(next() * 20 - 10);
    default:
      return '';
  }
}

/** The bytes ioredis itself writes for `command` (a string when no argument is a Buffer). */
function ioredisFrame(command: Command): Buffer {
  const written = command.toWritable({});
  return typeof written === 'string' ? Buffer.from(written) : written;
}

describe('a script call framed in one pass', () => {
  it('is byte for byte the frame ioredis writes, over 500 random argument lists', () => {
    const next = random(13);
    for (let n = 0; n < 500; n++) {
      const args = Array.from({ length: Math.floor(next() * 25) }, () => argument(next));
      const name = ['FCALL', 'FCALL_RO', 'EVALSHA'][n % 3] as string;
      const theirs = new Command(name, args.slice());
      const ours = new Command(name, args.slice());
      ours.toWritable = frame;
      const expected = ioredisFrame(theirs);
      const actual = ours.toWritable({});
      expect(Buffer.isBuffer(actual)).toBe(true);
      if (!expected.equals(actual as Buffer)) expect({ n, args, actual: actual.toString('latin1') }).toEqual({ n, args, actual: expected.toString('latin1') });
    }
  });

  it('frames a command without arguments, and argument counts and lengths of several digits', () => {
    const bare = new Command('PING', []);
    bare.toWritable = frame;
    expect(bare.toWritable({}).toString()).toBe('*1\r\n$4\r\nPING\r\n');
    const args = Array.from({ length: 123 }, (_, i) => (i % 2 === 0 ? 'y'.repeat(i * 97) : Buffer.alloc(i * 31, i)));
    const ours = new Command('FCALL', args.slice());
    ours.toWritable = frame;
    expect((ours.toWritable({}) as Buffer).equals(ioredisFrame(new Command('FCALL', args.slice())))).toBe(true);
  });

  it('is built again from the arguments on every write, as a resend after MOVED or a reconnect writes it again', () => {
    const command = new Command('FCALL', ['f', 1, '{a}:k', Buffer.from([1, 2, 3])]);
    command.toWritable = frame;
    const first = command.toWritable({}) as Buffer;
    command.args[2] = '{a}:other';
    const second = command.toWritable({}) as Buffer;
    expect(second.equals(ioredisFrame(new Command('FCALL', ['f', 1, '{a}:other', Buffer.from([1, 2, 3])])))).toBe(true);
    expect(first.equals(second)).toBe(false);
  });
});

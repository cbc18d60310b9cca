import { Command } from 'ioredis';
import type { RedisClient } from './connection.js';

/**
 * Script calls (FCALL, and EVALSHA/EVAL where Functions are refused) sent with their RESP frame built in one
 * pass: one Buffer of the exact size, every argument written into it in turn. ioredis frames a command that
 * has a Buffer argument (every add and complete: the packed jobs) piece by piece, a string and a
 * `byteLength` per argument gathered and then copied together, which was about 7 µs of a single add's
 * producer CPU (1.4 µs for the same command as one string, measured alone). With this frame a single add
 * costs FIGURES (docs/ARCHITECTURE.md, "The producer").
 *
 * The trade-off: the command is an ioredis `Command` sent with `sendCommand`, not `call()`, so it depends on
 * two things ioredis does not document: that a write asks `command.toWritable()` for the bytes, and that it
 * asks again for every write (a MOVED or ASK resend, the offline queue, the resend of unanswered commands
 * after a reconnect), which is why the frame is built from `command.args` on every call rather than once.
 * The Command stays a plain instance whose `toWritable` is replaced, not a subclass: a subclass made V8
 * deoptimize the write path about 120 times in 20,000 adds in the prototype. test/unit/frame.test.ts checks
 * the bytes against ioredis' own frame, test/fault/script-resends.test.ts the MOVED and ASK resends.
 *
 * A call sent this way also skips ioredis' auto-pipelining (`enableAutoPipelining` on a client the user
 * passed). ioredis 6 drops the command name of an auto-pipelined `callBuffer` (autoPipelining.js puts it
 * back for `call` only): the first binary-reply script was refused as an unknown command and the client
 * ran EVALSHA for good; and its auto-pipelined defineCommand scripts threw an uncaught "results[i] is not
 * iterable". sluice already puts adds made together into one call (src/adder.ts).
 */

/** An argument as ioredis' Command leaves it: numbers and the rest are made strings when it is built. */
type Framed = string | Buffer;

const CR = 13;
const LF = 10;
/** Byte lengths of the current frame's arguments: filled and read within one synchronous frame(). */
const lengths: number[] = [];

function digits(value: number): number {
  let count = 1;
  while (value >= 10) {
    value = Math.floor(value / 10);
    count++;
  }
  return count;
}

/** Writes `prefix`, `value` in decimal and CRLF at `at`; returns the offset after them. */
function writeHeader(out: Buffer, at: number, prefix: number, value: number): number {
  out[at] = prefix;
  const end = at + 1 + digits(value);
  for (let i = end - 1; i > at; i--) {
    out[i] = 48 + (value % 10);
    value = Math.floor(value / 10);
  }
  out[end] = CR;
  out[end + 1] = LF;
  return end + 2;
}

/** `toWritable` of a framed command: `*<n>` then `$<bytes>`, the bytes and CRLF for its name and each argument. */
export function frame(this: Command): Buffer {
  const name = this.name;
  const args = this.args as Framed[];
  const nameBytes = Buffer.byteLength(name);
  let size = 3 + digits(args.length + 1) + 5 + digits(nameBytes) + nameBytes;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as Framed;
    const bytes = typeof arg === 'string' ? Buffer.byteLength(arg) : arg.length;
    lengths[i] = bytes;
    size += 5 + digits(bytes) + bytes;
  }
  const out = Buffer.allocUnsafe(size);
  let at = writeHeader(out, 0, 0x2a, args.length + 1);
  at = writeHeader(out, at, 0x24, nameBytes);
  at += out.write(name, at);
  out[at++] = CR;
  out[at++] = LF;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as Framed;
    const bytes = lengths[i] as number;
    at = writeHeader(out, at, 0x24, bytes);
    if (typeof arg === 'string') out.write(arg, at);
    else out.set(arg, at);
    at += bytes;
    out[at++] = CR;
    out[at++] = LF;
  }
  return out;
}

type CommandOptions = NonNullable<ConstructorParameters<typeof Command>[2]>;
const STRING_REPLY: CommandOptions = { replyEncoding: 'utf8' };
const BUFFER_REPLY: CommandOptions = { replyEncoding: null };

/**
 * Sends `name` with `args` through `client`, framed in one pass; resolves with the reply as `call()` would
 * (strings), or as `callBuffer()` would when `binary` (Buffers). A client's `keyPrefix` and
 * `showFriendlyErrorStack` apply as they do to `call()`.
 */
export function sendFramed(client: RedisClient, name: string, args: (string | number | Buffer)[], binary: boolean): Promise<unknown> {
  const { keyPrefix, showFriendlyErrorStack } = client.options;
  const options: CommandOptions =
    keyPrefix === undefined && showFriendlyErrorStack !== true
      ? binary
        ? BUFFER_REPLY
        : STRING_REPLY
      : { replyEncoding: binary ? null : 'utf8', keyPrefix, errorStack: showFriendlyErrorStack === true ? new Error() : undefined };
  const command = new Command(name, args, options);
  command.toWritable = frame;
  client.sendCommand(command);
  return command.promise as Promise<unknown>;
}

import { Command } from 'ioredis';
import type { RedisClient } from './connection.js';

/**
 * Script calls (FCALL, and EVALSHA/EVAL where Functions are refused) sent with their RESP frame built in one
 * pass into one Buffer of the exact size. ioredis frames a command that has a Buffer argument (every add and
 * complete: the packed jobs) piece by piece: a string and a `byteLength` per argument gathered, measured
 * again and written one by one. Framing a single add's FCALL (23 arguments, one of them a Buffer, 653
 * bytes) cost ioredis 128,000 Node instructions and costs frame() 26,500 (callgrind, `node --predictable`,
 * 20,000 frames); a single add went from 214,700-237,600 to 148,300-162,200 Node instructions
 * (bench/add-instructions.ts; docs/ARCHITECTURE.md, "The producer").
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

/**
 * The frame's runs of text between its Buffer arguments, and those Buffers: filled and read within one
 * synchronous frame(). Texts and Buffers alternate, a text first and last.
 */
const texts: string[] = [];
const buffers: Buffer[] = [];

/**
 * `toWritable` of a framed command: `*<n>` then `$<bytes>`, the bytes and CRLF for its name and each argument.
 * The text between two Buffer arguments is joined into one string and written with one call: a `write`
 * per argument cost 30,400 instructions per add frame against 26,500 joined.
 */
export function frame(this: Command): Buffer {
  const name = this.name;
  const args = this.args as Framed[];
  const nameBytes = Buffer.byteLength(name);
  let text = `*${args.length + 1}\r\n$${nameBytes}\r\n${name}\r\n`;
  // Every character of the headers is ASCII: one byte each.
  let size = text.length - name.length + nameBytes;
  let runs = 0;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as Framed;
    if (typeof arg === 'string') {
      const bytes = Buffer.byteLength(arg);
      const header = `$${bytes}\r\n`;
      text += header + arg + '\r\n';
      size += header.length + bytes + 2;
    } else {
      const header = `$${arg.length}\r\n`;
      texts[runs] = text + header;
      buffers[runs++] = arg;
      text = '\r\n';
      size += header.length + arg.length + 2;
    }
  }
  texts[runs] = text;
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  for (let i = 0; i < runs; i++) {
    at += out.write(texts[i] as string, at);
    const buffer = buffers[i] as Buffer;
    out.set(buffer, at);
    at += buffer.length;
    buffers[i] = EMPTY;
  }
  out.write(texts[runs] as string, at);
  texts.length = 0;
  return out;
}

/** What a slot of `buffers` holds between frames, so a frame's Buffer is not kept alive after it. */
const EMPTY = Buffer.alloc(0);

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

/**
 * The length-prefixed form scripts read with struct.unpack('>I4c0...') (lua/includes/packed.lua, done.lua):
 * each part a 4-byte big-endian length and its bytes, strings in UTF-8, one after another. The per-job
 * values of add and complete travel in it (scripts.ts packJobs), and a completed job's record is stored in
 * it (done-record.ts).
 */
export function lengthPrefixed(parts: readonly (Buffer | string)[]): Buffer {
  const sizes: number[] = [];
  let size = 0;
  for (const part of parts) {
    const bytes = typeof part === 'string' ? Buffer.byteLength(part) : part.length;
    sizes.push(bytes);
    size += 4 + bytes;
  }
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i] as Buffer | string;
    const bytes = sizes[i] as number;
    out.writeUInt32BE(bytes, at);
    if (typeof part === 'string') out.write(part, at + 4, bytes);
    else part.copy(out, at + 4);
    at += 4 + bytes;
  }
  return out;
}

/** The parts of a length-prefixed value (lengthPrefixed's inverse); undefined when it is cut short. */
export function readLengthPrefixed(value: Buffer): Buffer[] | undefined {
  const parts: Buffer[] = [];
  let at = 0;
  while (at < value.length) {
    if (at + 4 > value.length) return undefined;
    const length = value.readUInt32BE(at);
    if (at + 4 + length > value.length) return undefined;
    parts.push(value.subarray(at + 4, at + 4 + length));
    at += 4 + length;
  }
  return parts;
}

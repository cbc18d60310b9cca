import { ScriptError } from '../errors.js';
import type { StatusCode } from './status.js';

/**
 * Decoding of script replies. Scripts called for Buffers answer with Buffers for strings, numbers for
 * integers and nested arrays; these helpers turn them into the values the store hands out, and fail
 * loudly (ScriptError) on anything else rather than guess.
 */
export type Reply = Buffer | number | null | Reply[];

export function str(value: Reply | undefined): string {
  if (Buffer.isBuffer(value)) return value.toString();
  if (typeof value === 'number') return String(value);
  throw new ScriptError(`expected a string in a script reply, got ${JSON.stringify(value)}`);
}

export function num(value: Reply | undefined): number {
  if (typeof value === 'number') return value;
  if (Buffer.isBuffer(value)) return Number(value.toString());
  throw new ScriptError(`expected a number in a script reply, got ${JSON.stringify(value)}`);
}

export function buf(value: Reply | undefined): Buffer {
  if (Buffer.isBuffer(value)) return value;
  if (typeof value === 'number') return Buffer.from(String(value));
  return Buffer.alloc(0);
}

export function pairs(list: Reply | undefined): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  if (!Array.isArray(list)) return out;
  for (let i = 0; i + 1 < list.length; i += 2) out.set(str(list[i]), buf(list[i + 1]));
  return out;
}

export function statuses(reply: unknown): StatusCode[] {
  return (reply as number[]).map((code) => code as StatusCode);
}


/**
 * What the commands print: tables and blocks for people, one JSON document for scripts. Everything read
 * from Redis (names, ids, data, reasons, stacks, logs) is hostile input to a terminal as it is to a page: an
 * ESC in a job name could move the cursor, retitle the window or hide the lines before it, and a bidi
 * override could make an id read backwards. Human output shows such characters as escapes; JSON escapes
 * those JSON.stringify leaves raw (DEL, C1 controls, U+2028/9, the bidi controls).
 */
import { cutUtf8 } from '../bounds.js';
import { readableJson } from '../readable-json.js';

// C0 and C1 controls, DEL, line and paragraph separators, and the bidi embeddings, overrides and isolates.
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
// The same, keeping line feeds and tabs: for stacks and logs printed as blocks.
// eslint-disable-next-line no-control-regex
const UNSAFE_IN_BLOCK = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

function escape(char: string): string {
  const code = char.charCodeAt(0);
  if (char === '\n') return '\\n';
  if (char === '\t') return '\\t';
  if (char === '\r') return '\\r';
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

/** One line of text, safe to print: control and bidi characters shown as escapes. */
export function safeText(text: string): string {
  return text.replace(UNSAFE, escape);
}

/** Lines of text (a stack, a log line), safe to print: as safeText, keeping line feeds and tabs. */
export function safeBlock(text: string): string {
  return text.replace(UNSAFE_IN_BLOCK, escape);
}

/** A job's data or return value shown in full up to this: 64 KiB of pretty JSON is a long scroll already (as the dashboard). */
export const VALUE_BYTES = 64 * 1024;
/** A table cell is cut to this many characters. */
const CELL_CHARS = 60;

/** `text` cut to at most `bytes` of UTF-8, saying so and from what size. */
export function cutText(text: string, bytes: number): string {
  const shown = cutUtf8(text, bytes);
  return shown.length === text.length ? text : `${shown}\n… (cut: ${Buffer.byteLength(text)} bytes in all; --json prints it whole)`;
}

/**
 * A value for JSON output: Date as an ISO string, BigInt as a string of its digits, bytes as
 * `{ "$bytes": "<base64>" }`; NaN and Infinity become null, as JSON.stringify has it.
 */
function jsonReplacer(this: unknown, key: string, value: unknown): unknown {
  const raw = (this as Record<string, unknown>)[key];
  if (typeof value === 'bigint') return value.toString();
  if (raw instanceof Date) return Number.isNaN(raw.getTime()) ? null : raw.toISOString();
  if (raw instanceof Uint8Array) return { $bytes: Buffer.from(raw.buffer, raw.byteOffset, raw.length).toString('base64') };
  return value;
}

/** `value` as the JSON document a command prints, with a final newline. */
export function json(value: unknown): string {
  const text = JSON.stringify(value, jsonReplacer, 2) ?? 'null';
  // These occur only inside strings, where the escape is equally valid JSON.
  return `${text.replace(/[\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`)}\n`;
}

/** A value as a person reads it (src/readable-json.ts), cut and made safe for a terminal. */
export function pretty(value: unknown): string {
  return safeBlock(cutText(readableJson(value), VALUE_BYTES));
}

/** A one-line preview of a value, for a table cell. */
export function preview(value: unknown): string {
  return cell(pretty(value).replace(/\s*\n\s*/g, ' '));
}

/** A table cell: one safe line of at most 60 characters. */
export function cell(text: string): string {
  const safe = safeText(text);
  return safe.length > CELL_CHARS ? `${safe.slice(0, CELL_CHARS - 1)}…` : safe;
}

export interface Column {
  header: string;
  /** Numbers read best right-aligned. */
  align?: 'left' | 'right';
}

/** Rows under their headers, columns padded to their widest cell, two spaces apart. Cells must be safe already. */
export function table(columns: readonly Column[], rows: readonly (readonly string[])[]): string {
  const widths = columns.map((column, i) => Math.max(column.header.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    columns
      .map((column, i) => {
        const text = cells[i] ?? '';
        const width = widths[i] ?? 0;
        return column.align === 'right' ? text.padStart(width) : text.padEnd(width);
      })
      .join('  ')
      .trimEnd();
  return [line(columns.map((column) => column.header)), ...rows.map(line)].join('\n') + '\n';
}

/** `label  value` lines, labels padded to the longest. Values must be safe already. */
export function fields(pairs: readonly (readonly [string, string])[], indent = '  '): string {
  const width = Math.max(0, ...pairs.map(([label]) => label.length));
  return pairs.map(([label, value]) => `${indent}${label.padEnd(width)}  ${value}`).join('\n') + '\n';
}

/** A timestamp (ms) as `2024-05-01 12:00:00 UTC`, or '-' when there is none. */
export function timestamp(ms: number | null | undefined): string {
  if (ms === undefined || ms === null || !Number.isFinite(ms) || ms <= 0) return '-';
  return new Date(ms).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
}

/** `n` thing(s); `many` when adding an s will not do. */
export function plural(n: number, word: string, many = `${word}s`): string {
  return `${n} ${n === 1 ? word : many}`;
}

/** Prints a command's result on stdout: its JSON document with --json, else what `human` makes of it. */
export function emit<T>(asJson: boolean, doc: T, human: (doc: T) => string): void {
  process.stdout.write(asJson ? json(doc) : human(doc));
}

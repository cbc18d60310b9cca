import { cutUtf8 } from '../bounds.js';
import { readableJson } from '../readable-json.js';

/**
 * What the pages show of values they do not control: job data, return values, progress, errors, logs.
 * Everything is cut for display (a job may carry 512 KiB; a page of 25 of them would be 12 MiB) and says
 * so, with the size it had.
 */

/** A job's data or return value on its page: 64 KiB of pretty JSON is a long scroll already. */
export const VALUE_BYTES = 64 * 1024;
/** A value in a list row: one line. */
export const PREVIEW_CHARS = 120;
/** A failed reason or stack trace. */
export const TEXT_BYTES = 16 * 1024;
/** A log line, and how many of the newest lines a job page shows. */
export const LOG_LINE_BYTES = 4 * 1024;
export const LOG_LINES = 200;

export interface Shown {
  text: string;
  /** The size of the whole text (UTF-8 bytes) when it was cut, else undefined. */
  cutFrom?: number;
}

/** Cuts `text` to at most `bytes` of UTF-8, never inside a character. */
export function cut(text: string, bytes: number): Shown {
  const shown = cutUtf8(text, bytes);
  return shown.length === text.length ? { text } : { text: shown, cutFrom: Buffer.byteLength(text) };
}

/** JSON as a person reads it (src/readable-json.ts), for any value msgpack can decode. */
export function pretty(value: unknown, indent = 2): string {
  return readableJson(value, indent);
}

export function preview(value: unknown): string {
  const text = pretty(value, 0);
  return text.length > PREVIEW_CHARS ? `${text.slice(0, PREVIEW_CHARS)}…` : text;
}

export function bytes(size: number): string {
  if (size < 1024) return `${size} B`;
  if (size < 1024 * 1024) return `${(size / 1024).toFixed(1)} KiB`;
  return `${(size / 1024 / 1024).toFixed(1)} MiB`;
}

/** A duration as an operator reads it at a glance: 850 ms, 42 s, 5 min, 3 h 10 min, 2 d 4 h. */
export function duration(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.round(ms))} ms`;
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min${s % 60 === 0 ? '' : ` ${s % 60} s`}`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} h${m % 60 === 0 ? '' : ` ${m % 60} min`}`;
  const d = Math.floor(h / 24);
  return `${d} d${h % 24 === 0 ? '' : ` ${h % 24} h`}`;
}

export function timestamp(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms) || ms <= 0) return '–';
  return new Date(ms).toISOString().replace('T', ' ').replace('Z', ' UTC');
}

/** `when` relative to `now`: "3 min ago" or "in 10 s". */
export function relative(when: number, now: number): string {
  return when <= now ? `${duration(now - when)} ago` : `in ${duration(when - now)}`;
}

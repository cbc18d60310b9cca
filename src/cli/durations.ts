/**
 * Durations on the command line (`--older-than 1h`) and in what the commands print: the one place they are
 * read and written.
 */
import { ValidationError } from '../errors.js';

const UNIT_MS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

/** Ten years: the dashboard's clean form goes no further, and a longer age keeps everything anyway. */
export const MAX_DURATION_MS = 10 * 365 * 86_400_000;

/**
 * Reads `1h`, `30m`, `7d`, `90s`, `500ms`, `2w` or a sum such as `1h30m` as milliseconds; `0` alone needs no
 * unit. A bare number is refused: `--older-than 3600` could mean seconds or milliseconds.
 */
export function parseDuration(flag: string, text: string): number {
  if (text === '0') return 0;
  const parts = /^(?:\d+(?:ms|s|m|h|d|w))+$/.test(text) ? [...text.matchAll(/(\d+)(ms|s|m|h|d|w)/g)] : [];
  if (parts.length === 0) {
    const hint = /^\d+$/.test(text) ? `; say the unit: ${text}s, ${text}m, ${text}h...` : '';
    throw new ValidationError(`${flag} takes a duration such as 30m, 1h, 7d or 1h30m (units ms, s, m, h, d, w), got '${text}'${hint}`);
  }
  let ms = 0;
  for (const [, amount, unit] of parts) ms += Number(amount) * (UNIT_MS[unit as string] as number);
  if (!Number.isSafeInteger(ms) || ms > MAX_DURATION_MS) throw new ValidationError(`${flag} is longer than ten years, got '${text}'`);
  return ms;
}

/** A duration as an operator reads it at a glance, in the units parseDuration reads: 850ms, 42s, 5m 10s, 3h 10m, 2d 4h. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.round(ms))}ms`;
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return s % 60 === 0 ? `${m}m` : `${m}m ${s % 60}s`;
  const h = Math.floor(m / 60);
  if (h < 48) return m % 60 === 0 ? `${h}h` : `${h}h ${m % 60}m`;
  const d = Math.floor(h / 24);
  return h % 24 === 0 ? `${d}d` : `${d}d ${h % 24}h`;
}

/** `when` against `now`: "3m ago", "in 10s". */
export function relativeTime(when: number, now: number): string {
  return when <= now ? `${formatDuration(now - when)} ago` : `in ${formatDuration(when - now)}`;
}

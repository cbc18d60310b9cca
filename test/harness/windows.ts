/**
 * The most starts that fall in any half-open window [t, t + duration), over sorted start times: two
 * pointers, exact. What "at most max in ANY sliding window" is checked against.
 */
export function worstWindow(starts: readonly number[], duration: number): number {
  const sorted = [...starts].sort((a, b) => a - b);
  let worst = 0;
  let left = 0;
  for (let right = 0; right < sorted.length; right++) {
    while ((sorted[right] as number) - (sorted[left] as number) >= duration) left++;
    worst = Math.max(worst, right - left + 1);
  }
  return worst;
}

/** The most intervals [start, end) open at once: the concurrency actually reached. */
export function worstOverlap(intervals: readonly (readonly [number, number])[]): number {
  const events: [number, number][] = [];
  for (const [start, end] of intervals) events.push([start, 1], [end, -1]);
  // At the same instant an end comes before a start: [a, b) and [b, c) do not overlap.
  events.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let open = 0;
  let worst = 0;
  for (const [, delta] of events) {
    open += delta;
    worst = Math.max(worst, open);
  }
  return worst;
}

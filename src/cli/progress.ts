/**
 * A progress bar on stderr for the long bulk actions (retry --all-failed, promote --all, clean), drawn only
 * when stderr is a terminal: piped to a file or a log collector it would be a stream of carriage returns.
 * The Queue reports after each step of at most 1,000 jobs (bulk-progress.ts); the bar redraws at most
 * every 100 ms, so 100,000 jobs (100 steps) cost a few dozen writes.
 */
import type { BulkProgress } from '../bulk-progress.js';

const REDRAW_MS = 100;

export class ProgressBar {
  readonly enabled: boolean;
  readonly #label: string;
  readonly #stream: NodeJS.WriteStream;
  #drawnAt = 0;
  #drawn = false;

  constructor(label: string, stream: NodeJS.WriteStream = process.stderr) {
    this.#label = label;
    this.#stream = stream;
    this.enabled = stream.isTTY === true;
  }

  /** For a Queue's `onProgress`: redraws when due; nothing when stderr is not a terminal. */
  readonly update = (progress: BulkProgress): void => {
    if (!this.enabled) return;
    const now = Date.now();
    if (this.#drawn && now - this.#drawnAt < REDRAW_MS) return;
    this.#drawnAt = now;
    this.#drawn = true;
    // A pseudo-terminal with no size set (script -c, some CI runners) reports 0 columns.
    const columns = this.#stream.columns > 0 ? this.#stream.columns : 80;
    this.#stream.write(`\r${render(this.#label, progress, columns)}\x1b[K`);
  };

  /** Clears the bar's line, so what is printed next starts on a clean one. */
  end(): void {
    if (this.#drawn) this.#stream.write('\r\x1b[K');
    this.#drawn = false;
  }
}

/** `retrying  [#########...........]  45%  45000/100000`, fitted to `columns`. */
export function render(label: string, { done, total }: BulkProgress, columns: number): string {
  // Jobs retention deleted meanwhile can make done pass a total counted at the start.
  const shown = Math.min(done, total);
  const ratio = total === 0 ? 1 : shown / total;
  const counts = `${String(Math.floor(ratio * 100)).padStart(3)}%  ${shown}/${total}`;
  const width = Math.max(10, Math.min(40, columns - label.length - counts.length - 8));
  const filled = Math.round(ratio * width);
  return `${label}  [${'#'.repeat(filled)}${'.'.repeat(width - filled)}]  ${counts}`;
}

import type { MinuteCounts } from '../states.js';
import { duration } from './format.js';
import { html, join, type Html } from './html.js';

/**
 * Completed and failed per minute (Queue#getMetricsHistory) as a bar chart in inline SVG, drawn on the
 * server: no script, no asset, nothing the Content-Security-Policy has to allow (it refuses `style`
 * attributes, not SVG; the bars' colours are classes of dashboard.css). One bar per minute, failed stacked
 * on completed, scaled to the busiest minute; only minutes with jobs get shapes, so an idle queue's chart
 * is a few bytes. The chart is drawn when the page is read; the counts beside it stay live.
 */

/** The scale's height in SVG units; a bar of the busiest minute is this tall. */
const HEIGHT = 100;

function clock(ms: number): string {
  return new Date(ms).toISOString().slice(11, 16);
}

function plural(n: number, word: string): string {
  return `${n.toLocaleString('en-US')} ${word}`;
}

/** The totals of a history, said in words: the chart's accessible name and caption. */
export function historySummary(history: readonly MinuteCounts[]): string {
  let completed = 0;
  let failed = 0;
  for (const m of history) {
    completed += m.completed;
    failed += m.failed;
  }
  return `last ${duration(history.length * 60_000)}: ${plural(completed, 'completed')}, ${plural(failed, 'failed')}`;
}

function bars(history: readonly MinuteCounts[], titled: boolean): Html {
  const top = Math.max(1, ...history.map((m) => m.completed + m.failed));
  const height = (n: number): number => (n === 0 ? 0 : Math.max(1, Math.round((n / top) * HEIGHT)));
  return join(
    history.map((m, x) => {
      if (m.completed + m.failed === 0) return '';
      const c = height(m.completed);
      const f = height(m.failed);
      const shapes = html`${c > 0 ? html`<rect class="c" x="${x}" y="${HEIGHT - c}" width="0.8" height="${c}"/>` : ''}${f > 0 ? html`<rect class="f" x="${x}" y="${HEIGHT - c - f}" width="0.8" height="${f}"/>` : ''}`;
      // A tooltip per minute on the queue's own page; on the overview, 50 queues of them would be clutter.
      return titled ? html`<g><title>${clock(m.minute)} UTC: ${plural(m.completed, 'completed')}, ${plural(m.failed, 'failed')}</title>${shapes}</g>` : shapes;
    }),
  );
}

/** The overview's chart of one queue: a small strip, its totals as its accessible name. */
export function smallChart(history: readonly MinuteCounts[]): Html {
  const summary = historySummary(history);
  return html`<svg class="history small" viewBox="0 0 ${history.length} ${HEIGHT}" preserveAspectRatio="none" role="img" aria-label="${summary}"><title>${summary}</title><rect class="base" x="0" y="${HEIGHT - 1}" width="${history.length}" height="1"/>${bars(history, false)}</svg>`;
}

/** A queue page's chart: wide, with a legend, the busiest minute's count and times along the bottom. */
export function largeChart(history: readonly MinuteCounts[]): Html {
  const summary = historySummary(history);
  const top = Math.max(0, ...history.map((m) => m.completed + m.failed));
  const first = history[0]?.minute ?? 0;
  const last = history.at(-1)?.minute ?? 0;
  const ticks = [first, first + Math.round((last - first) / 120_000) * 60_000, last];
  return html`<figure class="chart">
<figcaption class="chart-head"><span class="legend"><i class="c"></i> completed <i class="f"></i> failed, per minute: ${summary}</span><span class="hint">busiest minute: ${top.toLocaleString('en-US')}</span></figcaption>
<svg class="history large" viewBox="0 0 ${history.length} ${HEIGHT}" preserveAspectRatio="none" role="img" aria-label="${summary}"><rect class="base" x="0" y="${HEIGHT - 0.5}" width="${history.length}" height="0.5"/>${bars(history, true)}</svg>
<div class="chart-ticks">${ticks.map((t) => html`<span>${clock(t)} UTC</span>`)}</div>
</figure>`;
}

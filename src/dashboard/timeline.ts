import type { Job } from '../job.js';
import type { Queue } from '../queue.js';
import { readJobEvents, type StreamEvent } from '../redis/event-reader.js';
import { decode } from '../serializer.js';
import { cut, duration, preview, timestamp } from './format.js';
import { html, type Html } from './html.js';

/**
 * A job's events as its page shows them: what the capped events stream (about `eventsMaxLen` events, 10,000
 * by default) still holds of the job, read from the job's creation on (lua/includes/events.lua).
 *
 * The stream has no index by job, so the page reads every event written since the job was created and
 * keeps the job's: at most TIMELINE_EVENTS of them, which is the whole stream at the default
 * `eventsMaxLen`. Reading an event costs Redis about 0.1 µs (XRANGE of 100 entries of 64 events: 580 µs),
 * so a job page costs at most about 1 ms of Redis time for it, in pages of 20 entries. Entry ids are
 * Redis' time, which bounds the range: nothing before the job's creation is read, and nothing after a
 * finished job's finish.
 */
export const TIMELINE_EVENTS = 10_000;

export interface TimelineItem {
  at: number;
  type: string;
  detail: string;
}

export interface Timeline {
  items: TimelineItem[];
  /** The job's first events are gone from the stream (trimmed by its cap). */
  trimmed: boolean;
  /** The look stopped at TIMELINE_EVENTS: later events may be missing. */
  cut: boolean;
  /** The stream holds nothing at all (events off, or never written). */
  empty: boolean;
}

/** A value of an event, as the job page shows it; an event's bytes are hostile input like the job's. */
function detail(event: StreamEvent): string {
  const text = (): string => cut(event.value.toString(), 300).text;
  const decoded = (): string => {
    try {
      return preview(decode(event.value, `the ${event.type} event of job '${event.jobId}'`));
    } catch {
      return '(cannot be read)';
    }
  };
  switch (event.type) {
    case 'added':
      return `as ${text()}`;
    case 'active':
      return `attempt ${text()}`;
    case 'progress':
      return decoded();
    case 'completed':
      return `returned ${decoded()}`;
    case 'failed':
      return text();
    case 'retrying': {
      const value = event.value.toString();
      const colon = value.indexOf(':');
      const delay = Number(value.slice(0, colon));
      return `${delay > 0 ? `in ${duration(delay)}` : 'now'}: ${cut(value.slice(colon + 1), 300).text}`;
    }
    case 'stalled':
      return 'taken back: its worker stopped extending the lease';
    case 'rate-limited':
      return `held ${duration(Number(event.value.toString()))}`;
    case 'waiting':
      return 'sent back to waiting by a person';
    default:
      return '';
  }
}

/** Reads `job`'s timeline from the events stream of `queue`. */
export async function readTimeline(queue: Queue, job: Job): Promise<Timeline> {
  const finished = job.state === 'completed' || job.state === 'failed';
  // A second past the finish: a fail's finishedOn is rounded up from Redis' µs, its event's id is not.
  const to = finished && job.finishedOn !== undefined ? job.finishedOn + 1000 : undefined;
  const read = await readJobEvents(queue.store.client, queue.store.keys.events, job.id, job.timestamp, to, TIMELINE_EVENTS);
  const items = read.events.map((event) => ({ at: Number(event.id.split('-')[0]), type: event.type, detail: detail(event) }));
  const added = read.events.some((event) => event.type === 'added');
  return { items, trimmed: !added && read.oldest !== null && read.oldest > job.timestamp, cut: read.cut, empty: read.oldest === null };
}

export function timelineSection(timeline: Timeline, since: number): Html {
  const notes = [
    timeline.trimmed ? html`<p class="cut">Older events were trimmed: the events stream keeps about <code>eventsMaxLen</code> events of the queue, and the oldest it holds is from after this job was added.</p>` : '',
    timeline.cut ? html`<p class="cut">Only the first ${TIMELINE_EVENTS.toLocaleString('en-US')} events of the queue since this job was added were looked through; later ones are not shown.</p>` : '',
  ];
  const list = timeline.items.length === 0
    ? html`<p class="empty">${timeline.empty ? 'The events stream holds no events (events are off, or none were written yet).' : 'No events of this job in the events stream.'}</p>`
    : html`<ol class="timeline">${timeline.items.map((item) => html`<li><time>${timestamp(item.at)} <small>(+${duration(Math.max(0, item.at - since))})</small></time><span><span class="badge event-${item.type}">${item.type}</span></span><span class="detail">${item.detail}</span></li>`)}</ol>`;
  return html`<section id="timeline"><h2>Events</h2>${notes}${list}</section>`;
}

import {
  context,
  INVALID_SPAN_CONTEXT,
  isSpanContextValid,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Link,
  type Span,
  type Tracer,
} from '@opentelemetry/api';
import { shownMeta } from './logger.js';
import { SCOPE_NAME, SCOPE_VERSION } from './scope.js';
import { packTraceContext, unpackTraceContext, type StoredTraceContext } from './trace-context.js';

/**
 * Spans of a job, after the OpenTelemetry messaging semantic conventions (semantic-conventions
 * docs/messaging/messaging-spans.md, "Trace structure"; the conventions are still in Development):
 *
 * - `add` is one `send <queue>` span of kind PRODUCER; its context is the job's creation context.
 * - `addBulk` of several jobs is one `send <queue>` span of kind CLIENT with
 *   `messaging.batch.message_count`, and one `create <queue>` PRODUCER span per job as its child, so each
 *   job has a creation context of its own ("Create spans ... provide a unique creation context for
 *   messages in batch sending scenarios"); the send span links to them.
 * - Every attempt is one `process <queue>` span of kind CONSUMER, a retry or a delayed run included, so a
 *   job retried twice shows three process spans under the same creation context.
 *
 * Parent or link: the conventions make a link to the creation context the default and allow the creation
 * context as the parent "exclusively for single messages scenarios", when the instrumentation documents
 * it ("Message creation context as parent of Process span"). A sluice handler always processes exactly one
 * job, and the worker runs it outside any ambient span (the claim loop is not traced), so the process span
 * is a child of the creation context AND links to it: producer and consumer share one trace, which is
 * what people open a trace viewer for, and tools that follow links (the conventions' default) still find
 * the producer. A job without a stored context (added with no SDK, or fired by a schedule) starts a trace
 * of its own: each run of a schedule is new work, not a continuation of the call that saved the schedule.
 *
 * Switched off costs nothing measurable: without an SDK the API's tracer is a no-op whose spans are
 * invalid, so nothing is stored with the job, no attribute object is built (per-job attributes are set
 * only when `span.isRecording()`), and the handler is called without entering a context.
 */

/** Re-exported so the Worker can hold a span without importing OpenTelemetry itself. */
export type { Span } from '@opentelemetry/api';

const SYSTEM = 'sluice';
/** sluice's own attributes live under messaging.sluice.*, as the conventions ask of system-specific ones. */
export const ATTR_JOB_NAME = 'messaging.sluice.job.name';
/** The attempt this run settles as: 1 on the first run, 2 on the first retry (attemptsMade + 1). */
export const ATTR_JOB_ATTEMPT = 'messaging.sluice.job.attempt';
/** completed, retried, failed, rate_limited, or unsettled (the settle was refused or could not be sent). */
export const ATTR_JOB_OUTCOME = 'messaging.sluice.job.outcome';
/** The start of a job's meta attributes: `messaging.sluice.job.meta.tenant` for the meta key `tenant`. */
export const ATTR_JOB_META = 'messaging.sluice.job.meta.';

let cachedTracer: Tracer | undefined;

/**
 * trace.getTracer returns a proxy that follows a provider registered later, so one tracer per process is
 * enough and an SDK started after sluice was imported is still used.
 */
function tracer(): Tracer {
  cachedTracer ??= trace.getTracer(SCOPE_NAME, SCOPE_VERSION);
  return cachedTracer;
}

function destinationAttributes(queue: string, operation: 'send' | 'create' | 'process'): Attributes {
  return Object.freeze({
    'messaging.system': SYSTEM,
    'messaging.operation.type': operation,
    'messaging.operation.name': operation,
    'messaging.destination.name': queue,
  });
}

/** The spans of one add or addBulk call; `traceContext(i)` is what to store with job i. */
export interface SendSpans {
  traceContext(index: number): StoredTraceContext | undefined;
  /** Ends the spans: with the jobs added (for their ids), or with the error that stopped the call. */
  end(jobs: readonly { readonly id: string }[] | undefined, error?: unknown): void;
}

const UNTRACED: SendSpans = { traceContext: () => undefined, end: () => undefined };

/** The producer side of one queue. */
export class ProducerSpans {
  readonly #sendName: string;
  readonly #createName: string;
  readonly #sendAttributes: Attributes;
  readonly #createAttributes: Attributes;

  constructor(queue: string) {
    this.#sendName = `send ${queue}`;
    this.#createName = `create ${queue}`;
    this.#sendAttributes = destinationAttributes(queue, 'send');
    this.#createAttributes = destinationAttributes(queue, 'create');
  }

  /** Starts the spans of a call that adds `count` jobs. */
  start(count: number): SendSpans {
    if (count === 0) return UNTRACED;
    const send = tracer().startSpan(this.#sendName, {
      kind: count === 1 ? SpanKind.PRODUCER : SpanKind.CLIENT,
      attributes: this.#sendAttributes,
    });
    const sendContext = send.spanContext();
    // No SDK: the no-op tracer's span has an invalid context. An SDK that sampled the span out still gives
    // a valid one; it is stored so the worker's spans follow the same sampling decision.
    // The no-op tracer's span carries INVALID_SPAN_CONTEXT itself: known by identity, without the hex checks
    // of isSpanContextValid (3.5% of a single add's Node CPU with Redis' reply stubbed out, node --cpu-prof).
    if (sendContext === INVALID_SPAN_CONTEXT || !isSpanContextValid(sendContext)) return UNTRACED;
    if (count === 1 || !send.isRecording()) {
      const stored = packTraceContext(sendContext);
      return {
        traceContext: () => stored,
        end: (jobs, error) => {
          const id = jobs?.length === 1 ? jobs[0]?.id : undefined;
          if (id !== undefined && send.isRecording()) send.setAttribute('messaging.message.id', id);
          endSpan(send, error);
        },
      };
    }
    send.setAttribute('messaging.batch.message_count', count);
    const parent = trace.setSpan(context.active(), send);
    const creates: Span[] = [];
    for (let i = 0; i < count; i++) {
      creates.push(tracer().startSpan(this.#createName, { kind: SpanKind.PRODUCER, attributes: this.#createAttributes }, parent));
    }
    // The SDK keeps 128 links per span by default (OTEL_SPAN_LINK_COUNT_LIMIT); past that it counts the
    // dropped ones, and each create span still has the send span as its parent.
    send.addLinks(creates.map((span) => ({ context: span.spanContext() })));
    return {
      traceContext: (index) => {
        const span = creates[index];
        return span === undefined ? undefined : packTraceContext(span.spanContext());
      },
      end: (jobs, error) => {
        creates.forEach((span, i) => {
          const id = jobs?.[i]?.id;
          if (id !== undefined) span.setAttribute('messaging.message.id', id);
          endSpan(span, error);
        });
        endSpan(send, error);
      },
    };
  }
}

export type JobOutcome = 'completed' | 'retried' | 'failed' | 'rate_limited';

/** What the consumer side needs of a job. */
export interface TracedJob {
  readonly id: string;
  readonly name: string;
  readonly attemptsMade: number;
  readonly traceContext: unknown;
  readonly meta: Readonly<Record<string, string | number | boolean>> | undefined;
  /** The creation contexts of the jobs it waited for (a flow's dependencies), as stored; usually undefined. */
  readonly traceLinks?: unknown;
}

/**
 * Stored contexts as span links, `kind` their `sluice.link` attribute; none for anything unreadable: a job
 * must never fail because a context is.
 */
function storedLinks(stored: unknown, kind: string): Link[] {
  if (!Array.isArray(stored)) return [];
  const links: Link[] = [];
  for (const item of stored) {
    const linked = unpackTraceContext(item);
    if (linked !== undefined) links.push({ context: linked, attributes: { 'sluice.link': kind } });
  }
  return links;
}

/** A span's context in the stored form, for a job whose dependents link to its process span; undefined without an SDK. */
export function storedSpanContext(span: Span): StoredTraceContext | undefined {
  return packTraceContext(span.spanContext());
}

/** The consumer side of one worker. */
export class ConsumerSpans {
  readonly #name: string;
  readonly #attributes: Attributes;
  readonly #rootOptions: { kind: SpanKind; attributes: Attributes };
  readonly #metaKeys: readonly string[];

  /** `metaKeys`: the meta keys shown as attributes (the `telemetryMeta` option). */
  constructor(queue: string, consumer: string, metaKeys: readonly string[]) {
    this.#metaKeys = metaKeys;
    this.#name = `process ${queue}`;
    this.#attributes = Object.freeze({ ...destinationAttributes(queue, 'process'), 'messaging.client.id': consumer });
    this.#rootOptions = { kind: SpanKind.CONSUMER, attributes: this.#attributes };
  }

  /** Starts the process span of one attempt, a child of (and linked to) the job's creation context. */
  start(job: TracedJob): Span {
    const creation = job.traceContext === undefined ? undefined : unpackTraceContext(job.traceContext);
    const span =
      creation === undefined
        ? tracer().startSpan(this.#name, this.#rootOptions, ROOT_CONTEXT)
        : tracer().startSpan(
            this.#name,
            {
              kind: SpanKind.CONSUMER,
              attributes: this.#attributes,
              links: job.traceLinks === undefined ? [{ context: creation }] : [{ context: creation }, ...storedLinks(job.traceLinks, 'dependency')],
            },
            trace.setSpanContext(ROOT_CONTEXT, creation),
          );
    if (span.isRecording()) {
      span.setAttribute('messaging.message.id', job.id);
      span.setAttribute(ATTR_JOB_NAME, job.name);
      span.setAttribute(ATTR_JOB_ATTEMPT, job.attemptsMade + 1);
      const meta = shownMeta(job.meta, this.#metaKeys);
      if (meta !== undefined) for (const [key, value] of Object.entries(meta)) span.setAttribute(ATTR_JOB_META + key, value);
    }
    return span;
  }

  /**
   * Links a started process span to the process spans of the jobs it waited for: `stored`, the contexts
   * their completes recorded (at most MAX_TRACE_LINKS are passed), `sluice.link` = `dependency.process`.
   */
  linkProcessed(span: Span, stored: readonly unknown[]): void {
    const links = storedLinks(stored, 'dependency.process');
    if (links.length > 0) span.addLinks(links);
  }

  /** Ends the process span with the attempt's outcome; undefined means the settle did not go through. */
  end(span: Span, outcome: JobOutcome | undefined, error: Error | undefined): void {
    if (!span.isRecording()) return;
    span.setAttribute(ATTR_JOB_OUTCOME, outcome ?? 'unsettled');
    if (error !== undefined && outcome !== 'rate_limited') endSpan(span, error);
    else if (outcome === undefined) endSpan(span, new Error('the settle was refused or could not reach Redis; see the worker error event'));
    else span.end();
  }
}

/**
 * Calls `fn(...args)` with `span` as the active span, so spans the handler starts are its children. Only
 * a recording span is entered: the no-op path calls straight through, without a context or a closure.
 */
export function runInSpan<A extends unknown[], R>(span: Span, fn: (...args: A) => R, ...args: A): R {
  if (!span.isRecording()) return fn(...args);
  return context.with(trace.setSpan(context.active(), span), fn, undefined, ...args);
}

function endSpan(span: Span, error: unknown): void {
  if (error !== undefined && span.isRecording()) {
    const exception = error instanceof Error ? error : new Error(typeof error === 'string' ? error : JSON.stringify(error));
    const code = (exception as { code?: unknown }).code;
    span.recordException(exception);
    // error.type: a SluiceError's stable code (ERR_SLUICE_...) where there is one, else the class name.
    span.setAttribute('error.type', typeof code === 'string' ? code : exception.name);
    span.setStatus({ code: SpanStatusCode.ERROR, message: exception.message });
  }
  span.end();
}

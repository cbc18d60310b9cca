import { createTraceState, isSpanContextValid, type SpanContext } from '@opentelemetry/api';

/**
 * How the creation context of a job is stored: under one reserved key of the job's compact options
 * (options.ts TRACE_CONTEXT_KEY), written only when the producer's span has a valid context, so a queue
 * without an OpenTelemetry SDK stores nothing.
 *
 * The form is sluice's own, not a propagator's text carrier: both ends are sluice, so the worker can rebuild
 * the SpanContext without a propagator being registered (a BasicTracerProvider alone is enough), and the
 * bytes stay small. A W3C `traceparent` is 55 characters, ~61 bytes as a msgpack map entry; with any other
 * non-default option the options value then passes Redis' hash-max-listpack-value of 64 bytes and the job
 * hash leaves its compact encoding (339 -> ~1,000 bytes per job, docs/ARCHITECTURE.md "Memory"). Packed
 * it is 25 bytes: trace id (16), span id (8), trace flags (1). A non-empty tracestate rides along as a
 * second element: [bytes, tracestate]. Baggage is not carried (put what a handler needs in the job data).
 */
export type StoredTraceContext = Uint8Array | [Uint8Array, string];

const PACKED_BYTES = 25;

export function packTraceContext(context: SpanContext): StoredTraceContext | undefined {
  if (!isSpanContextValid(context)) return undefined;
  const bytes = Buffer.from(`${context.traceId}${context.spanId}00`, 'hex');
  bytes[PACKED_BYTES - 1] = context.traceFlags & 0xff;
  const state = context.traceState?.serialize();
  return state === undefined || state === '' ? bytes : [bytes, state];
}

/**
 * Reads what packTraceContext stored. Anything else (a job written by another version, a hand-edited
 * hash) gives undefined: a job must never fail because its trace context is unreadable.
 */
export function unpackTraceContext(stored: unknown): SpanContext | undefined {
  let bytes: unknown = stored;
  let state: unknown;
  if (Array.isArray(stored)) [bytes, state] = stored as unknown[];
  if (!(bytes instanceof Uint8Array) || bytes.length !== PACKED_BYTES) return undefined;
  const hex = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('hex');
  const context: SpanContext = {
    traceId: hex.slice(0, 32),
    spanId: hex.slice(32, 48),
    traceFlags: bytes[PACKED_BYTES - 1] ?? 0,
    isRemote: true,
    ...(typeof state === 'string' && state !== '' ? { traceState: createTraceState(state) } : {}),
  };
  return isSpanContextValid(context) ? context : undefined;
}

// Tracing with no OpenTelemetry SDK registered (this file registers none): nothing is stored, nothing
// records. And the stored form of a creation context: what it packs, what it refuses.
import { context, createTraceState, trace, TraceFlags, type SpanContext } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import { compactOptions, expandOptions, normalizeJobOptions, TRACE_CONTEXT_KEY, type EncodedJobOptions } from '../../src/options.js';
import { decode, encode } from '../../src/serializer.js';
import { packTraceContext, unpackTraceContext } from '../../src/telemetry/trace-context.js';
import { ConsumerSpans, ProducerSpans, runInSpan } from '../../src/telemetry/tracing.js';

const sampled: SpanContext = {
  traceId: '0af7651916cd43dd8448eb211c80319c',
  spanId: 'b7ad6b7169203331',
  traceFlags: TraceFlags.SAMPLED,
};

describe('stored trace context', () => {
  it('packs a span context into 25 bytes and reads it back as a remote context', () => {
    const packed = packTraceContext(sampled);
    expect(packed).toBeInstanceOf(Uint8Array);
    expect((packed as Uint8Array).length).toBe(25);
    expect(unpackTraceContext(packed)).toEqual({ ...sampled, isRemote: true });
  });

  it('keeps a tracestate beside the bytes, and an unsampled flag', () => {
    const packed = packTraceContext({ ...sampled, traceFlags: TraceFlags.NONE, traceState: createTraceState('vendor=abc,other=1') });
    expect(Array.isArray(packed)).toBe(true);
    const back = unpackTraceContext(packed);
    expect(back?.traceFlags).toBe(TraceFlags.NONE);
    expect(back?.traceState?.serialize()).toBe('vendor=abc,other=1');
  });

  it('survives msgpack: the options of a default job with a trace context stay under 64 bytes (a compact Redis hash value)', () => {
    const stored = normalizeJobOptions(undefined, {}, 3).stored;
    const bytes = encode({ ...compactOptions(stored), [TRACE_CONTEXT_KEY]: packTraceContext(sampled) }, 'job options', 1024);
    expect(bytes.length).toBeLessThanOrEqual(64);
    const decoded = decode<EncodedJobOptions>(bytes);
    expect(unpackTraceContext(decoded?.[TRACE_CONTEXT_KEY])).toEqual({ ...sampled, isRemote: true });
    // The reserved key never shows in job.opts.
    expect(expandOptions(decoded)).toEqual(stored);
    expect(TRACE_CONTEXT_KEY in expandOptions(decoded)).toBe(false);
  });

  it('refuses invalid contexts and anything it did not write', () => {
    expect(packTraceContext({ traceId: '0'.repeat(32), spanId: '0'.repeat(16), traceFlags: 0 })).toBeUndefined();
    for (const junk of [undefined, null, 'traceparent', 42, {}, [], Buffer.alloc(24), Buffer.alloc(25), [Buffer.alloc(3), 'a=b']]) {
      expect(unpackTraceContext(junk)).toBeUndefined();
    }
  });
});

describe('with no OpenTelemetry SDK', () => {
  it('the tracer is a no-op: add stores no trace context, process spans do not record', () => {
    const send = new ProducerSpans('emails').start(1);
    expect(send.traceContext(0)).toBeUndefined();
    send.end([{ id: '1' }]);
    const bulk = new ProducerSpans('emails').start(500);
    expect(bulk.traceContext(499)).toBeUndefined();

    const span = new ConsumerSpans('emails', 'host:1:abc', []).start({ id: '1', name: 'welcome', attemptsMade: 0, traceContext: undefined, meta: undefined });
    expect(span.isRecording()).toBe(false);
    expect(trace.getTracer('sluice').startSpan('x').isRecording()).toBe(false);
  });

  it('a job that carries a context from a traced producer still runs untraced, without entering a context', () => {
    const span = new ConsumerSpans('emails', 'host:1:abc', []).start({ id: '1', name: 'welcome', attemptsMade: 0, traceContext: packTraceContext(sampled), meta: undefined });
    expect(span.isRecording()).toBe(false);
    const active = context.active();
    expect(runInSpan(span, (a: number, b: number) => (context.active() === active ? a + b : -1), 2, 3)).toBe(5);
  });
});

/**
 * Tracing a job from producer to worker with OpenTelemetry.
 *
 *   REDIS_URL=redis://127.0.0.1:6379 npx tsx examples/tracing.ts
 *
 * sluice only uses @opentelemetry/api; the application starts the SDK, here @opentelemetry/sdk-node with
 * an in-memory exporter so the example can print the trace it made (in production: an OTLP exporter to
 * your collector). Start the SDK before creating Queues and Workers: the meter is taken at construction.
 *
 * One job is added inside an application span ("checkout"), fails its first attempt and succeeds on the
 * retry; the handler makes a span of its own. Everything lands in one trace:
 *
 *   checkout
 *   └─ send tracing-example        PRODUCER  (queue.add)
 *      ├─ process tracing-example  CONSUMER  attempt 1, retried (exception recorded)
 *      └─ process tracing-example  CONSUMER  attempt 2, completed
 *         └─ render receipt                  (the handler's own span)
 */
import { SpanKind, trace } from '@opentelemetry/api';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { Queue, Worker } from 'sluice';

const exporter = new InMemorySpanExporter();
const sdk = new NodeSDK({
  serviceName: 'tracing-example',
  spanProcessors: [new SimpleSpanProcessor(exporter)],
  // Traces only: no metric readers or log processors, so nothing tries to reach an OTLP endpoint.
  metricReaders: [],
  logRecordProcessors: [],
  instrumentations: [],
});
sdk.start();

const connection = { url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' };
const name = process.env.QUEUE ?? 'tracing-example';
const queue = new Queue<{ orderId: number }, string>(name, { connection });
const app = trace.getTracer('shop');

let done: () => void = () => undefined;
const finished = new Promise<void>((resolve) => (done = resolve));
const worker = new Worker<{ orderId: number }, string>(
  name,
  async (job) => {
    if (job.attemptsMade === 0) throw new Error('mail server busy');
    // The process span is the active span here, so this one becomes its child.
    return app.startActiveSpan('render receipt', (span) => {
      span.end();
      return Promise.resolve(`receipt-${job.data.orderId}`);
    });
  },
  { connection },
);
worker.on('completed', () => done());
worker.on('error', (error) => console.error(error));

await app.startActiveSpan('checkout', async (span) => {
  await queue.add('receipt', { orderId: 1001 }, { attempts: 2, backoff: { type: 'fixed', delay: 100 } });
  span.end();
});
await finished;
await worker.close();
await queue.obliterate();
await queue.close();

printTree(exporter.getFinishedSpans());
await sdk.shutdown();

function printTree(spans: ReadableSpan[]): void {
  const children = new Map<string | undefined, ReadableSpan[]>();
  for (const span of spans) {
    const parent = span.parentSpanContext?.spanId;
    children.set(parent, [...(children.get(parent) ?? []), span]);
  }
  const print = (span: ReadableSpan, depth: number): void => {
    const kind = span.kind === SpanKind.INTERNAL ? '' : ` ${SpanKind[span.kind]}`;
    const attempt = span.attributes['messaging.sluice.job.attempt'];
    const outcome = span.attributes['messaging.sluice.job.outcome'];
    const detail = attempt === undefined ? '' : ` attempt ${String(attempt)}, ${String(outcome)}`;
    console.log(`${'  '.repeat(depth)}${span.name}${kind}${detail}`);
    const below = (children.get(span.spanContext().spanId) ?? []).sort((a, b) => a.startTime[0] - b.startTime[0] || a.startTime[1] - b.startTime[1]);
    for (const child of below) print(child, depth + 1);
  };
  for (const root of children.get(undefined) ?? []) {
    console.log(`trace ${root.spanContext().traceId}`);
    print(root, 1);
  }
}

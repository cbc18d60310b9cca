/**
 * One worker process of the comparison bench: forked by bench/worker-handle.ts, driven over IPC (see
 * bench/worker-protocol.ts). It runs one library's worker on one queue, counts completions in memory and
 * reports them over IPC, never through Redis.
 */
import { contenders } from './contenders/index.js';
import { asError, type BenchData, type BenchWorker } from './contenders/contender.js';
import { preciseNow, type DoneMessage, type FromWorker, type HandlerSpec, type SetupMessage, type ToWorker } from './worker-protocol.js';

const PROGRESS_EVERY_MS = 1000;

function send(message: FromWorker): void {
  process.send?.(message);
}

function makeHandler(spec: HandlerSpec): () => Promise<void> {
  if (spec.kind === 'noop') return () => Promise.resolve();
  const ms = spec.ms;
  return () => new Promise<void>((resolve) => setTimeout(resolve, ms));
}

class Run {
  readonly #setup: SetupMessage;
  readonly #starts: [number, number][] = [];
  #worker: BenchWorker | undefined;
  #completed = 0;
  #startedAt = 0;
  #cpuAtStart: NodeJS.CpuUsage | undefined;
  #progress: NodeJS.Timeout | undefined;
  #failed = false;

  constructor(setup: SetupMessage) {
    this.#setup = setup;
  }

  async open(): Promise<void> {
    const setup = this.#setup;
    const work = makeHandler(setup.handler);
    const starts = this.#starts;
    const handler = setup.recordStarts
      ? (data: BenchData): Promise<void> => {
          starts.push([data.i, preciseNow()]);
          return work();
        }
      : (): Promise<void> => work();
    this.#worker = await contenders[setup.contender].openWorker(setup.url, setup.queue, {
      concurrency: setup.concurrency,
      handler,
      onCompleted: () => this.#onCompleted(),
      onError: (error) => this.#fail(error),
      delayedJobs: setup.delayedJobs,
    });
    send({ type: 'ready' });
  }

  start(): void {
    this.#startedAt = preciseNow();
    this.#cpuAtStart = process.cpuUsage();
    this.#progress = setInterval(() => send({ type: 'progress', completed: this.#completed }), PROGRESS_EVERY_MS);
    this.#worker?.start();
  }

  #onCompleted(): void {
    this.#completed++;
    if (this.#setup.notifyEach) send({ type: 'completed', completed: this.#completed });
    if (this.#completed !== this.#setup.expected) return;
    const cpu = process.cpuUsage(this.#cpuAtStart);
    const done: DoneMessage = {
      type: 'done',
      completed: this.#completed,
      elapsedMs: preciseNow() - this.#startedAt,
      cpuMicros: cpu.user + cpu.system,
      starts: this.#starts,
    };
    send(done);
  }

  #fail(error: Error): void {
    // The first error says what went wrong; the ones that follow from it would only bury it.
    if (this.#failed) return;
    this.#failed = true;
    send({ type: 'error', message: error.stack ?? error.message });
  }

  async close(): Promise<void> {
    clearInterval(this.#progress);
    await this.#worker?.close();
  }
}

let run: Run | undefined;

async function onMessage(message: ToWorker): Promise<void> {
  switch (message.type) {
    case 'ping':
      send({ type: 'pong', seq: message.seq, now: preciseNow() });
      return;
    case 'setup':
      run = new Run(message);
      await run.open();
      return;
    case 'start':
      run?.start();
      return;
    case 'close':
      await run?.close();
      // Exit once the message is out: a library's stray timer must not keep the process around.
      process.send?.({ type: 'closed' } satisfies FromWorker, () => process.exit(0));
      return;
  }
}

process.on('message', (message: ToWorker) => {
  onMessage(message).catch((error: unknown) => {
    const e = asError(error);
    send({ type: 'error', message: e.stack ?? e.message });
  });
});
// The bench went away (crashed, killed): nothing is left to report to.
process.on('disconnect', () => process.exit(1));
send({ type: 'hello', pid: process.pid });

/**
 * The bench's side of a worker process: forks bench/worker-process.ts (pinned to the bench's CPU),
 * measures the clock offset, and turns the IPC messages of bench/worker-protocol.ts into promises.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { pin } from './environment.js';
import { preciseNow, type DoneMessage, type FromWorker, type SetupMessage, type ToWorker } from './worker-protocol.js';

const ENTRY = fileURLToPath(new URL('./worker-process.ts', import.meta.url));
/** Pings for the clock offset; the one with the shortest round trip is used. */
const PINGS = 20;
const START_TIMEOUT_MS = 30_000;
const CLOSE_TIMEOUT_MS = 20_000;

interface Pending {
  /** Returns true when the message is the one awaited (and settles the promise). */
  readonly accept: (message: FromWorker) => boolean;
  readonly reject: (error: Error) => void;
}

export class WorkerProcess {
  readonly #child: ChildProcess;
  readonly #exited: Promise<void>;
  /** Promises waiting for a message of some kind. */
  readonly #pending = new Set<Pending>();
  /** Set once the child reported an error or exited; every wait then rejects with it. */
  #failure: Error | undefined;
  #completed = 0;
  #lastProgressAt = preciseNow();
  /** child clock - bench clock, in ms. */
  clockOffsetMs = 0;
  /** Whether the child was pinned to the bench's CPU (null: no pinning asked for). */
  pinned: boolean | null = null;

  private constructor(child: ChildProcess) {
    this.#child = child;
    this.#exited = new Promise((resolve) => child.once('exit', () => resolve()));
    child.on('message', (message: FromWorker) => this.#receive(message));
    child.once('exit', (code, signal) => {
      if (this.#failure === undefined) this.#fail(new Error(`worker process exited (code ${code ?? '-'}, signal ${signal ?? '-'})`));
    });
  }

  /** Forks a worker process (it inherits the bench's tsx loader) and pins it to `cpu` when given. */
  static async spawn(cpu: number | null): Promise<WorkerProcess> {
    const child = fork(ENTRY, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const handle = new WorkerProcess(child);
    try {
      // A child forked from a pinned process inherits its CPU mask; pinning again also covers a bench that
      // was not pinned itself, and -a includes threads already started.
      if (cpu !== null) handle.pinned = pin(child.pid, cpu);
      await handle.#wait((m) => m.type === 'hello', START_TIMEOUT_MS, 'hello');
      await handle.#calibrate();
    } catch (error) {
      handle.kill();
      throw error;
    }
    return handle;
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  /** Jobs completed so far, as last reported. */
  get completed(): number {
    return this.#completed;
  }

  async setup(setup: Omit<SetupMessage, 'type'>): Promise<void> {
    this.#send({ type: 'setup', ...setup });
    await this.#wait((m) => m.type === 'ready', START_TIMEOUT_MS, 'ready');
  }

  start(): void {
    this.#lastProgressAt = preciseNow();
    this.#send({ type: 'start' });
  }

  /**
   * Resolves with the child's `done`. Rejects when the child reports an error or exits, or when no job
   * completed for `stallMs`.
   */
  done(stallMs: number): Promise<DoneMessage> {
    let message: DoneMessage | undefined;
    let watchdog: NodeJS.Timeout | undefined;
    const finished = this.#wait(
      (m) => {
        if (m.type !== 'done') return false;
        message = m;
        return true;
      },
      undefined,
      'done',
      (pending) => {
        watchdog = setInterval(() => {
          if (preciseNow() - this.#lastProgressAt <= stallMs) return;
          this.#pending.delete(pending);
          pending.reject(new Error(`stalled: ${this.#completed} jobs completed, none in the last ${Math.round(stallMs / 1000)} s`));
        }, 500);
      },
    );
    return finished.then(
      () => {
        clearInterval(watchdog);
        return message as DoneMessage;
      },
      (error: unknown) => {
        clearInterval(watchdog);
        throw error;
      },
    );
  }

  /** Resolves once the child reported `count` completions in all (setup with notifyEach). */
  async untilCompleted(count: number, timeoutMs: number): Promise<void> {
    if (this.#completed >= count) return;
    await this.#wait((m) => (m.type === 'completed' || m.type === 'done') && m.completed >= count, timeoutMs, `completion ${count}`);
  }

  /** Graceful close (the library's close), then the process exits; killed if that takes too long. */
  async close(): Promise<void> {
    if (this.#child.exitCode !== null || this.#child.signalCode !== null) return;
    try {
      this.#send({ type: 'close' });
      await Promise.race([this.#exited, new Promise((resolve) => setTimeout(resolve, CLOSE_TIMEOUT_MS).unref())]);
    } finally {
      this.kill();
    }
  }

  kill(): void {
    if (this.#child.exitCode === null && this.#child.signalCode === null) this.#child.kill('SIGKILL');
  }

  /** The offset between the child's clock and ours, from the ping whose round trip was shortest. */
  async #calibrate(): Promise<void> {
    let best = { rtt: Number.POSITIVE_INFINITY, offset: 0 };
    for (let seq = 0; seq < PINGS; seq++) {
      let childNow = 0;
      const sent = preciseNow();
      this.#send({ type: 'ping', seq });
      await this.#wait(
        (m) => {
          if (m.type !== 'pong' || m.seq !== seq) return false;
          childNow = m.now;
          return true;
        },
        START_TIMEOUT_MS,
        'pong',
      );
      const received = preciseNow();
      const rtt = received - sent;
      if (rtt < best.rtt) best = { rtt, offset: childNow - (sent + received) / 2 };
    }
    this.clockOffsetMs = best.offset;
  }

  #send(message: ToWorker): void {
    if (!this.#child.connected) throw this.#failure ?? new Error('worker process is not connected');
    this.#child.send(message);
  }

  #receive(message: FromWorker): void {
    if (message.type === 'progress' || message.type === 'completed' || message.type === 'done') {
      if (message.completed !== this.#completed) this.#lastProgressAt = preciseNow();
      this.#completed = message.completed;
    }
    if (message.type === 'error') {
      this.#fail(new Error(`worker process reported: ${message.message}`));
      return;
    }
    for (const pending of [...this.#pending]) if (pending.accept(message)) this.#pending.delete(pending);
  }

  #fail(error: Error): void {
    this.#failure ??= error;
    const pending = [...this.#pending];
    this.#pending.clear();
    for (const p of pending) p.reject(this.#failure);
  }

  /**
   * Resolves on the first message `match` accepts; rejects when the child fails or after `timeoutMs`.
   * `watch` gets the entry, for a caller that rejects it on a condition of its own.
   */
  #wait(match: (message: FromWorker) => boolean, timeoutMs: number | undefined, what: string, watch?: (pending: Pending) => void): Promise<void> {
    if (this.#failure !== undefined) return Promise.reject(this.#failure);
    return new Promise<void>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const pending: Pending = {
        accept: (message) => {
          if (!match(message)) return false;
          clearTimeout(timer);
          resolve();
          return true;
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
      this.#pending.add(pending);
      if (timeoutMs !== undefined) {
        timer = setTimeout(() => {
          this.#pending.delete(pending);
          reject(new Error(`worker process: no ${what} within ${timeoutMs} ms`));
        }, timeoutMs);
      }
      watch?.(pending);
    });
  }
}

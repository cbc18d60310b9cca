/**
 * Sandboxed processors: a Worker given a file instead of a function runs each job in a runner of its own,
 * a child process (the default) or a worker thread, so a handler that burns CPU does not stall the
 * Worker's heartbeats and claims, and one that crashes its runner (a segfault in a native module, a heap
 * past `maxMemoryMb`, `process.exit`) costs that attempt, not the Worker.
 *
 * Trade-off: a job crosses two structured clones (its fields in, its result out) and a runner is a process
 * or a thread kept warm between jobs: about 30 MB and 30-50 ms to start a child process, about 10 MB for a
 * thread. Runners are started on demand, one per running job (so at most `concurrency`), and reused.
 *
 * When the attempt's signal aborts (its timeout, a lost lease), the runner is told; a handler that has not
 * returned ABORT_GRACE_MS later is killed with its runner, since nobody will take its result and it still
 * holds a slot of the machine. In-process handlers cannot be stopped this way; a sandboxed one can.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker as Thread } from 'node:worker_threads';
import { existsSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import { RateLimitError, SandboxError, UnrecoverableError, ValidationError } from '../../errors.js';
import type { Job } from '../../job.js';
import type { FromRunner, SandboxError as CrossedError, SandboxJob, ToRunner } from './protocol.js';
import { toSandboxError } from './protocol.js';

/** How a sandboxed processor runs; the Worker option `sandbox`. */
export interface SandboxOptions {
  /**
   * `'process'`: a child process per runner, which survives anything. `'thread'`: a worker thread,
   * lighter, but a native crash takes the Worker's process with it.
   *
   * @defaultValue `'process'`
   */
  kind?: 'process' | 'thread';
  /**
   * Old-generation heap per runner, in MB; a runner past it ends and its attempt fails with SandboxError.
   *
   * @defaultValue Node's default heap limit
   */
  maxMemoryMb?: number;
}

/** The context a sandboxed run gets from the Worker: the same the in-process handler would. */
interface RunContext {
  signal: AbortSignal;
  throttle<T>(call: () => PromiseLike<T>): Promise<T>;
}

/** ms a handler is given to return after its signal aborted, before its runner is killed. */
const ABORT_GRACE_MS = 1000;

interface Current {
  job: Job<unknown, unknown>;
  ctx: RunContext;
  resolve(value: unknown): void;
  reject(error: Error): void;
  releases: Map<number, () => void>;
  killTimer: NodeJS.Timeout | undefined;
  onAbort: () => void;
}

interface Runner {
  send(message: ToRunner): void;
  kill(): Promise<void>;
  current: Current | undefined;
  dead: boolean;
}

// Running from the sources (tests, tsx) the runner is a .ts file: the child needs tsx to load it.
const RUNNER = new URL(import.meta.url.endsWith('.ts') ? './runner.ts' : './runner.js', import.meta.url);
const FROM_SOURCE = RUNNER.pathname.endsWith('.ts');

function tsxLoader(): string {
  return pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
}

export class SandboxPool {
  readonly file: string;
  readonly #options: SandboxOptions;
  readonly #idle: Runner[] = [];
  readonly #all = new Set<Runner>();

  constructor(file: string, options: SandboxOptions = {}) {
    this.file = file;
    this.#options = options;
  }

  /** Runs one attempt of `job` in an idle runner, or a new one. */
  run(job: Job<unknown, unknown>, ctx: RunContext): Promise<unknown> {
    const runner = this.#idle.pop() ?? this.#spawn();
    return new Promise((resolve, reject) => {
      const onAbort = (): void => this.#abort(runner);
      runner.current = { job, ctx, resolve, reject, releases: new Map(), killTimer: undefined, onAbort };
      if (ctx.signal.aborted) {
        onAbort();
        return;
      }
      ctx.signal.addEventListener('abort', onAbort, { once: true });
      runner.send({ type: 'run', file: this.file, job: fieldsOf(job) });
    });
  }

  /** Ends every runner. The Worker calls it once its running jobs have settled. */
  async close(): Promise<void> {
    await Promise.all([...this.#all].map((runner) => runner.kill()));
  }

  #abort(runner: Runner): void {
    const current = runner.current;
    if (current === undefined) return;
    runner.send({ type: 'abort', reason: toSandboxError(current.ctx.signal.reason) });
    current.killTimer = setTimeout(() => {
      const reason = current.ctx.signal.reason as unknown;
      this.#finish(runner, undefined, reason instanceof Error ? reason : new Error(String(reason)));
      void runner.kill();
    }, ABORT_GRACE_MS);
  }

  #finish(runner: Runner, value: unknown, error: Error | undefined): void {
    const current = runner.current;
    if (current === undefined) return;
    runner.current = undefined;
    clearTimeout(current.killTimer);
    current.ctx.signal.removeEventListener('abort', current.onAbort);
    for (const release of current.releases.values()) release();
    if (error === undefined) current.resolve(value);
    else current.reject(error);
    if (!runner.dead && current.killTimer === undefined) this.#idle.push(runner);
  }

  #receive(runner: Runner, message: FromRunner): void {
    const current = runner.current;
    if (current === undefined) return;
    switch (message.type) {
      case 'done':
        this.#finish(runner, message.value, undefined);
        return;
      case 'failed':
        this.#finish(runner, undefined, rebuild(message.error));
        return;
      case 'call': {
        const { job } = current;
        const call = message.method === 'log' ? job.log(String(message.arg)) : job.updateProgress(message.arg);
        call.then(
          (value) => runner.current === current && runner.send({ type: 'reply', call: message.call, value }),
          (error: unknown) => runner.current === current && runner.send({ type: 'reply', call: message.call, error: toSandboxError(error) }),
        );
        return;
      }
      case 'throttle':
        current.ctx
          .throttle(
            () =>
              new Promise<void>((release) => {
                current.releases.set(message.call, release);
                if (runner.current === current) runner.send({ type: 'throttle-go', call: message.call });
                else release();
              }),
          )
          .catch(() => undefined);
        return;
      case 'throttle-done':
        current.releases.get(message.call)?.();
        current.releases.delete(message.call);
        return;
    }
  }

  #ended(runner: Runner, why: string): void {
    runner.dead = true;
    this.#all.delete(runner);
    const at = this.#idle.indexOf(runner);
    if (at >= 0) this.#idle.splice(at, 1);
    const current = runner.current;
    if (current !== undefined) {
      this.#finish(runner, undefined, new SandboxError(`the sandboxed processor ${this.file} ended while running job '${current.job.id}': ${why}`));
    }
  }

  #spawn(): Runner {
    const runner = this.#options.kind === 'thread' ? this.#thread() : this.#process();
    this.#all.add(runner);
    return runner;
  }

  #process(): Runner {
    const execArgv = [
      ...(FROM_SOURCE ? ['--import', tsxLoader()] : []),
      ...(this.#options.maxMemoryMb === undefined ? [] : [`--max-old-space-size=${this.#options.maxMemoryMb}`]),
    ];
    const child: ChildProcess = fork(fileURLToPath(RUNNER), [], { serialization: 'advanced', execArgv, stdio: 'inherit' });
    let exited: Promise<void> | undefined;
    const runner: Runner = {
      send: (message) => {
        if (!runner.dead && child.connected) child.send(message);
      },
      kill: () => {
        exited ??= new Promise((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) resolve();
          else {
            child.once('exit', () => resolve());
            child.kill('SIGKILL');
          }
        });
        return exited;
      },
      current: undefined,
      dead: false,
    };
    child.on('message', (message) => this.#receive(runner, message as FromRunner));
    child.on('exit', (code, signal) => this.#ended(runner, signal === null ? `its process exited with code ${code ?? '?'}` : `its process was ended by ${signal}`));
    child.on('error', (error) => this.#ended(runner, `its process failed: ${error.message}`));
    return runner;
  }

  #thread(): Runner {
    const resourceLimits = this.#options.maxMemoryMb === undefined ? {} : { resourceLimits: { maxOldGenerationSizeMb: this.#options.maxMemoryMb } };
    const entry = FROM_SOURCE ? bootFromSource() : RUNNER;
    const thread = new Thread(entry, { ...resourceLimits, stdout: false, stderr: false });
    let exited: Promise<void> | undefined;
    const runner: Runner = {
      send: (message) => {
        if (!runner.dead) thread.postMessage(message);
      },
      kill: () => {
        exited ??= thread.terminate().then(() => undefined);
        return exited;
      },
      current: undefined,
      dead: false,
    };
    thread.on('message', (message) => this.#receive(runner, message as FromRunner));
    thread.on('error', (error: Error & { code?: string }) =>
      this.#ended(runner, error.code === 'ERR_WORKER_OUT_OF_MEMORY' ? `its thread ran out of memory (maxMemoryMb ${this.#options.maxMemoryMb ?? 'default'})` : `its thread threw ${error.message}`),
    );
    thread.on('exit', (code) => this.#ended(runner, `its thread exited with code ${code}`));
    return runner;
  }
}

/**
 * The processor file as a file URL the runner can import, checked in the Worker's constructor: an absolute
 * path or a file: URL of a file that exists. A relative path would resolve against whatever directory the
 * runner started in, so it is refused.
 */
export function sandboxFile(what: string, processor: string | URL): string {
  let url: URL;
  if (processor instanceof URL) {
    if (processor.protocol !== 'file:') throw new ValidationError(`${what}: a sandboxed processor must be a file: URL, not ${processor.protocol}`);
    url = processor;
  } else if (processor.startsWith('file:')) {
    url = new URL(processor);
  } else if (isAbsolute(processor)) {
    url = pathToFileURL(processor);
  } else {
    throw new ValidationError(`${what}: the processor path '${processor}' is relative; pass an absolute path (path.resolve(...)) or new URL('./file.js', import.meta.url)`);
  }
  if (!existsSync(fileURLToPath(url))) throw new ValidationError(`${what}: the processor file ${fileURLToPath(url)} does not exist`);
  return url.href;
}

/** A thread's entry when running from the sources: registers tsx in the thread, then loads runner.ts. */
function bootFromSource(): URL {
  const api = pathToFileURL(createRequire(import.meta.url).resolve('tsx/esm/api').replace(/\.cjs$/, '.mjs')).href;
  const code = `import { register } from ${JSON.stringify(api)};\nregister();\nawait import(${JSON.stringify(RUNNER.href)});\n`;
  return new URL(`data:text/javascript,${encodeURIComponent(code)}`);
}

function fieldsOf(job: Job<unknown, unknown>): SandboxJob {
  return {
    id: job.id,
    name: job.name,
    data: job.data,
    opts: job.opts,
    priority: job.priority,
    attemptsMade: job.attemptsMade,
    attemptsStarted: job.attemptsStarted,
    stalledCounter: job.stalledCounter,
    progress: job.progress,
    timestamp: job.timestamp,
    processedOn: job.processedOn,
    queueName: job.queueName,
    meta: job.meta,
    processedBy: job.processedBy,
  };
}

/** An error from a runner, as the Worker treats it: RateLimitError and UnrecoverableError keep their meaning. */
function rebuild(error: CrossedError): Error {
  let rebuilt: Error;
  if (error.name === 'RateLimitError' && typeof error.retryAfterMs === 'number') rebuilt = new RateLimitError(error.retryAfterMs, error.message);
  else if (error.name === 'UnrecoverableError') rebuilt = new UnrecoverableError(error.message);
  else {
    rebuilt = new Error(error.message);
    rebuilt.name = error.name;
  }
  if (error.stack !== undefined) rebuilt.stack = error.stack;
  return rebuilt;
}

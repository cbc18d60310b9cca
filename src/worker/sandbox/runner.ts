/**
 * The inside of a sandboxed processor: runs in a child process (started by fork) or a worker thread, loads
 * the user's processor file once, and runs one job at a time as pool.ts asks. The handler gets a job with
 * the fields it reads and `updateProgress` and `log` proxied to the Worker, and a ctx whose `signal`
 * aborts when the Worker's does, whose `rateLimit` throws as in-process, and whose `throttle` waits for
 * the Worker's outbound limiter. Errors go back by name (RateLimitError, UnrecoverableError keep their
 * meaning), results as structured clones.
 */
import { parentPort } from 'node:worker_threads';
import { toSandboxError, type FromRunner, type SandboxError, type SandboxJob, type ToRunner } from './protocol.js';

type Handler = (job: unknown, ctx: unknown) => unknown;

const send: (message: FromRunner) => void =
  parentPort !== null
    ? (message) => parentPort?.postMessage(message)
    : (message) => {
        process.send?.(message);
      };

const loaded = new Map<string, Promise<Handler>>();
const pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
let calls = 0;
let controller: AbortController | undefined;

function load(file: string): Promise<Handler> {
  let handler = loaded.get(file);
  if (handler === undefined) {
    handler = import(file).then((module: { default?: unknown }) => {
      // `export default fn` (ESM), or `module.exports = fn` (CommonJS), whose exports are the default.
      const candidate = module.default;
      if (typeof candidate !== 'function') {
        throw new TypeError(`the sandboxed processor ${file} must export a function (job, ctx) => result as its default export`);
      }
      return candidate as Handler;
    });
    loaded.set(file, handler);
  }
  return handler;
}

function rebuild(error: SandboxError): Error {
  const rebuilt = new Error(error.message);
  rebuilt.name = error.name;
  if (error.stack !== undefined) rebuilt.stack = error.stack;
  return rebuilt;
}

/** Asks the Worker to run a job method there; resolves with what it returned there. */
function remote(method: 'updateProgress' | 'log', arg: unknown): Promise<unknown> {
  const call = ++calls;
  return new Promise((resolve, reject) => {
    pending.set(call, { resolve, reject });
    send({ type: 'call', call, method, arg });
  });
}

function throttle<T>(task: () => PromiseLike<T>): Promise<T> {
  const call = ++calls;
  return new Promise<void>((resolve, reject) => {
    pending.set(call, { resolve: () => resolve(), reject });
    send({ type: 'throttle', call });
  }).then(async () => {
    try {
      return await task();
    } finally {
      send({ type: 'throttle-done', call });
    }
  });
}

/** Thrown by ctx.rateLimit: crosses back by name and becomes the Worker's RateLimitError. */
class RateLimitError extends Error {
  override name = 'RateLimitError';
  constructor(readonly retryAfterMs: number) {
    super(`rate limited by the downstream: hold for ${retryAfterMs} ms`);
  }
}

async function run(file: string, fields: SandboxJob): Promise<void> {
  controller = new AbortController();
  const job = {
    ...fields,
    updateProgress: (value: unknown) => remote('updateProgress', value).then(() => undefined),
    log: (line: string) => remote('log', line) as Promise<number>,
  };
  const ctx = {
    signal: controller.signal,
    rateLimit(ms: number): never {
      throw new RateLimitError(ms);
    },
    throttle,
  };
  try {
    const handler = await load(file);
    const value = await handler(job, ctx);
    send({ type: 'done', value });
  } catch (thrown) {
    send({ type: 'failed', error: toSandboxError(thrown) });
  } finally {
    controller = undefined;
  }
}

function receive(message: ToRunner): void {
  switch (message.type) {
    case 'run':
      void run(message.file, message.job);
      return;
    case 'abort':
      controller?.abort(rebuild(message.reason));
      return;
    case 'reply': {
      const waiter = pending.get(message.call);
      pending.delete(message.call);
      if (message.error !== undefined) waiter?.reject(rebuild(message.error));
      else waiter?.resolve(message.value);
      return;
    }
    case 'throttle-go': {
      const waiter = pending.get(message.call);
      pending.delete(message.call);
      waiter?.resolve(undefined);
      return;
    }
  }
}

if (parentPort !== null) parentPort.on('message', receive);
else process.on('message', (message) => receive(message as ToRunner));

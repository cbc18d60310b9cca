import { ValidationError } from '../errors.js';
import type { Job } from '../job.js';
import type { Processor, ProcessorContext } from './contract.js';
import { asError } from './thrown.js';

/**
 * Middleware runs around a Worker's handler, in the order `worker.use()` added it: the first added is the
 * outermost. Each gets the job, the handler's ctx and `next`, which runs the rest of the chain and resolves
 * with the handler's result (or rejects with what it threw); what a middleware returns is the attempt's
 * result, and what it throws fails the attempt as the handler's throw would (a RateLimitError releases the
 * job, an UnrecoverableError fails it for good). Middleware runs inside the attempt's span and timeout.
 *
 * Typical uses: restore the job's meta into the worker's AsyncLocalStorage
 * (`(job, ctx, next) => als.run(job.meta, next)`), open a transaction around the handler, time it.
 */
export type Middleware<Data = unknown, Result = unknown> = (
  job: Job<Data, Result>,
  ctx: ProcessorContext,
  next: () => Promise<Result>,
) => Promise<Result>;

/**
 * `handler` wrapped by `chain`, built once per use() rather than per job: with no middleware the Worker calls
 * its processor as before, and each middleware costs a job one closure for its `next`.
 */
export function compose<Data, Result>(chain: readonly Middleware<Data, Result>[], handler: Processor<Data, Result>): Processor<Data, Result> {
  let composed = handler;
  for (let i = chain.length - 1; i >= 0; i--) {
    const middleware = chain[i] as Middleware<Data, Result>;
    const inner = composed;
    composed = (job, ctx) => {
      let called = false;
      return middleware(job, ctx, () => {
        // A second call would run the handler twice in one attempt, with one settle: refused.
        if (called) return Promise.reject(new Error(`middleware ${i + 1} of worker for queue '${job.queueName}' called next() twice`));
        called = true;
        try {
          return Promise.resolve(inner(job, ctx));
        } catch (error) {
          return Promise.reject(asError(error));
        }
      });
    };
  }
  return composed;
}

export function assertMiddleware(middleware: unknown): void {
  if (typeof middleware !== 'function') {
    throw new ValidationError(`worker.use() takes a function (job, ctx, next) => Promise<result>, got ${typeof middleware}`);
  }
}

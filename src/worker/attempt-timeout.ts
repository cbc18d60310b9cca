import { MAX_TIMER_MS } from '../bounds.js';
import { TimeoutError } from '../errors.js';
import type { AttemptSignal } from './attempt-signal.js';

/**
 * An attempt's run bounded by the job's `timeout`: past it the attempt rejects with TimeoutError and its
 * ctx.signal aborts with the same error (the handler may still be running: JavaScript cannot stop it).
 * Without a timeout the run itself is returned, with no timer or promise added.
 */
export function withTimeout<R>(run: Promise<R>, timeout: number | undefined, jobId: string, attempt: AttemptSignal): Promise<R> {
  if (timeout === undefined) return run;
  // add() refuses more, but a job stored by an earlier version may have it, and would time out at once.
  const ms = Math.min(timeout, MAX_TIMER_MS);
  return new Promise<R>((resolve, reject) => {
    const timer = setTimeout(() => {
      const error = new TimeoutError(`job '${jobId}' ran past its timeout of ${timeout} ms`);
      attempt.abort(error);
      reject(error);
    }, ms);
    run.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: Error) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}

import Bottleneck from 'bottleneck';
import { ValidationError } from '../errors.js';

/**
 * Smoothing of a handler's own outbound calls, inside one worker process: `ctx.throttle(fn)`.
 *
 * Why Bottleneck here and nowhere else: limits that every worker must obey together live in Redis and are
 * enforced by the claim script (Bottleneck's Redis clustering is reported broken on Redis 7 and its
 * windows are fixed, not sliding; see docs/limits-bench.md). What is left to do in-process is spacing and
 * capping the calls one process makes while it runs many jobs at once, which is what Bottleneck's local
 * limiter is good at, and it is well known. Only this module imports it.
 */
/**
 * The Worker option `outbound`: how `ctx.throttle(call)` spaces and caps the calls the handlers of this
 * process make. Local to the process: for a limit every worker obeys together, use the queue's rate limit
 * or group limits, which live in Redis.
 */
export interface OutboundLimit {
  /**
   * Calls running at once from this process (an integer >= 1).
   *
   * @defaultValue no limit
   */
  maxConcurrent?: number;
  /**
   * ms between the starts of two calls from this process (>= 0).
   *
   * @defaultValue `0`
   */
  minTime?: number;
}

export type Throttle = <T>(call: () => PromiseLike<T>) => Promise<T>;

/** With no limit, ctx.throttle just calls: a worker that does not use it pays nothing. */
const direct: Throttle = (call) => Promise.resolve(call());

export function outboundThrottle(limit: OutboundLimit | undefined): Throttle {
  if (limit === undefined) return direct;
  const { maxConcurrent, minTime, ...rest } = limit;
  const unknown = Object.keys(rest);
  if (unknown.length > 0) throw new ValidationError(`outbound: unknown field '${unknown[0]}'; use maxConcurrent and minTime`);
  if (maxConcurrent !== undefined && (!Number.isInteger(maxConcurrent) || maxConcurrent < 1)) {
    throw new ValidationError(`outbound.maxConcurrent must be an integer >= 1, got ${String(maxConcurrent)}`);
  }
  if (minTime !== undefined && (!Number.isFinite(minTime) || minTime < 0)) {
    throw new ValidationError(`outbound.minTime must be a number of ms >= 0, got ${String(minTime)}`);
  }
  const limiter = new Bottleneck({ maxConcurrent: maxConcurrent ?? null, minTime: minTime ?? 0 });
  return (call) => limiter.schedule(call);
}

/**
 * The messages between a Worker and the runners of its sandboxed processor (pool.ts in the Worker's
 * process, runner.ts in a child process or worker thread). Everything crosses as structured clones: Node's
 * 'advanced' serialization for child processes, postMessage for threads.
 */

/** What a runner needs of a job: its fields as a handler reads them. Methods are proxied (JobCall). */
export interface SandboxJob {
  id: string;
  name: string;
  data: unknown;
  opts: unknown;
  priority: number;
  attemptsMade: number;
  attemptsStarted: number;
  stalledCounter: number;
  progress: unknown;
  timestamp: number;
  processedOn: number | undefined;
  queueName: string;
  /** The job's meta (job.meta), or undefined. */
  meta: Readonly<Record<string, string | number | boolean>> | undefined;
  /** The Worker's consumer name (job.processedBy). */
  processedBy: string | undefined;
}

/** An error as it crosses: enough to rebuild a RateLimitError or UnrecoverableError on the other side. */
export interface SandboxError {
  name: string;
  message: string;
  stack: string | undefined;
  retryAfterMs?: number;
}

export type ToRunner =
  | { type: 'run'; file: string; job: SandboxJob }
  | { type: 'abort'; reason: SandboxError }
  | { type: 'reply'; call: number; error?: SandboxError; value?: unknown }
  | { type: 'throttle-go'; call: number };

export type FromRunner =
  | { type: 'done'; value: unknown }
  | { type: 'failed'; error: SandboxError }
  | { type: 'call'; call: number; method: 'updateProgress' | 'log'; arg: unknown }
  | { type: 'throttle'; call: number }
  | { type: 'throttle-done'; call: number };

/** Sends an error across: a thrown non-Error becomes its string, as the in-process handler's would. */
export function toSandboxError(thrown: unknown): SandboxError {
  if (thrown instanceof Error) {
    const retryAfterMs = (thrown as { retryAfterMs?: unknown }).retryAfterMs;
    return {
      name: thrown.name,
      message: thrown.message,
      stack: thrown.stack,
      ...(typeof retryAfterMs === 'number' ? { retryAfterMs } : {}),
    };
  }
  return { name: 'Error', message: String(thrown), stack: undefined };
}

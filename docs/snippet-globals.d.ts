// Names the docs' code blocks use without defining them: the reader's own code and values, which a snippet
// shows being passed to sluice. test/unit/docs.test.ts compiles every block with these in scope; a block
// that defines the same name (a module of its own) shadows them.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ConnectionOptions, Job, Queue } from 'sluice';

declare global {
  const connection: ConnectionOptions;
  const queue: Queue<unknown, unknown>;
  const job: Job<unknown, unknown>;
  const password: string;
  function sendEmail(to: unknown, options: { idempotencyKey: string; signal: AbortSignal }): Promise<string>;
  function callDownstream(data: unknown): Promise<Response>;
  /** The reader's own authentication middleware. */
  function requireAdmin(req: IncomingMessage, res: ServerResponse, next: () => void): void;
}

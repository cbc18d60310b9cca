/**
 * Every Queue, Worker and QueueEvents registers here while open. The test harness fails a test that leaves
 * one open (a leaked worker keeps claiming jobs into the next test); users may call it in their own tests.
 */
const open = new Map<object, string>();

export function trackOpen(handle: object, description: string): void {
  open.set(handle, description);
}

export function untrackOpen(handle: object): void {
  open.delete(handle);
}

/** Descriptions of the Queues, Workers and QueueEvents not closed yet. */
export function openHandles(): string[] {
  return [...open.values()];
}

/**
 * Every Queue, Worker and QueueEvents registers here while open. The test harness fails a test that leaves
 * one open (a leaked worker keeps claiming jobs into the next test); users may call it in their own tests.
 */
interface Closable {
  close(): Promise<void>;
}

const open = new Map<Closable, string>();

export function trackOpen(handle: Closable, description: string): void {
  open.set(handle, description);
}

export function untrackOpen(handle: Closable): void {
  open.delete(handle);
}

/** Descriptions of the Queues, Workers and QueueEvents not closed yet. */
export function openHandles(): string[] {
  return [...open.values()];
}

/** Closes whatever is still open; returns the descriptions of what it closed. For test harnesses. */
export async function closeOpenHandles(): Promise<string[]> {
  const left = [...open.entries()];
  await Promise.allSettled(left.map(([handle]) => handle.close()));
  return left.map(([, description]) => description);
}

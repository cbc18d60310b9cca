import type { RedisClient } from './redis/connection.js';
import { FlowStore, type Note } from './redis/flow-store.js';
import { queueKeys } from './keys.js';
import { Status } from './redis/status.js';

/**
 * The relay of flows across Redis Cluster slots. On a Cluster two queues are two slots, so no script may end
 * a job of one and make its dependent in the other waiting. The script that ends a job writes a note per
 * dependent in another queue into its own queue's outbox instead (lua/includes/dependents.lua), atomically
 * with the end; the relay reads an outbox, applies its notes in each dependent's slot (lua/deliver-notes.lua)
 * and only then deletes them. A relay stopped between the two (a SIGKILL) leaves the notes, which the next
 * pass applies again: deliver-notes applies an end to a dependent only while its deps field still says
 * 'w', so the second time changes nothing. At least once in transit, exactly once in effect.
 *
 * Who relays: whoever wrote the notes, at once (a Worker after a settle call that answered `noted`, the
 * producer after the parts of a flow, a relay after a delivery that ended jobs with dependents further on),
 * so a crossing costs one round trip per hop and nothing is polled while nothing crosses; and, for notes
 * whose writer died before relaying them, every Worker of the queue on a Cluster connection, once per
 * `stalledInterval` (the stalled sweep's cadence: a dead writer's notes wait as long as its stalled jobs
 * do). Any process may relay any queue's outbox: relays are idempotent, so two at once only repeat work.
 */

/** Notes read and applied per round trip: one deliver-notes call per target queue of them. */
const BATCH = 100;
/** Reads per pass at most: 1,000 notes; the rest waits for the next pass (a backlog after an outage). */
const MAX_READS = 10;
/** Outboxes relayed per relay() call: the first, and those its deliveries wrote notes to, in turn. */
const MAX_QUEUES = 20;
/** Parts of flows looked at per sweep: a producer that died leaves one per queue of its flow. */
const PARTS_PER_SWEEP = 10;

export class FlowRelay {
  readonly #stores = new Map<string, FlowStore>();

  constructor(
    private readonly client: RedisClient,
    private readonly prefix: string,
    private readonly eventsMaxLen: number,
  ) {}

  /** The flow verbs of queue `name` of the prefix. */
  store(name: string): FlowStore {
    let store = this.#stores.get(name);
    if (store === undefined) {
      // Levels do not matter: these verbs touch no level stream by name (deliver-notes reads them from meta).
      store = new FlowStore(this.client, queueKeys(name, this.prefix, 1), this.eventsMaxLen);
      this.#stores.set(name, store);
    }
    return store;
  }

  /** Relays queue `name`'s outbox, then the outboxes its deliveries wrote notes to. */
  async relay(name: string): Promise<void> {
    const todo = [name];
    for (let n = 0; n < todo.length && n < MAX_QUEUES; n++) {
      for (const next of await this.#pass(todo[n] as string, '+')) if (!todo.includes(next)) todo.push(next);
    }
  }

  /**
   * Applies every note of queue `name`'s outbox written so far (up to its newest entry now); false when more
   * than a pass' worth were there, so some may be left.
   */
  async drain(name: string): Promise<boolean> {
    const tip = await this.store(name).tip();
    if (tip === undefined) return true;
    const noted = await this.#pass(name, tip);
    for (const next of noted) await this.relay(next);
    return (await this.store(name).read(1, tip)).length === 0;
  }

  /**
   * The periodic pass of a Worker of queue `name`: its outbox, then its parts of flows that waited more than
   * `timeoutMs` for the rest of their flow. Before it fails such a part's jobs it drains the outbox of the
   * flow's last part, where the note that the flow is whole would be if that part was written (a producer
   * that died after it): only a part whose note is not there either is cut short. Returns how many jobs it
   * ended so (lua/abandon-flow.lua: failed, or an onFailure job made waiting).
   */
  async sweep(name: string, timeoutMs: number): Promise<number> {
    await this.relay(name);
    const store = this.store(name);
    let ended = 0;
    for (const flow of await store.waitingParts(Date.now() - timeoutMs, PARTS_PER_SWEEP)) {
      const last = await store.lastPartOf(flow);
      if (last !== undefined && !(await this.drain(last))) continue;
      const reason =
        `flow '${flow}' was never written whole: this job's part (queue '${name}') waited more than ${timeoutMs} ms for the rest, ` +
        `up to its last part in queue '${last ?? '?'}', which its producer never wrote (it stopped part way; see flowPartTimeout)`;
      const reply = await store.abandon(flow, timeoutMs, reason);
      if (reply.status !== Status.OK) continue;
      ended += reply.ended;
      if (reply.noted) await this.relay(name);
    }
    return ended;
  }

  /**
   * One pass over an outbox, up to entry `until`: read, apply per target queue, delete. Returns the queues
   * whose outboxes the deliveries wrote notes to.
   */
  async #pass(name: string, until: string): Promise<Set<string>> {
    const source = this.store(name);
    const noted = new Set<string>();
    for (let reads = 0; reads < MAX_READS; reads++) {
      const notes = await source.read(BATCH, until);
      if (notes.length === 0) break;
      const byQueue = new Map<string, Note[]>();
      for (const note of notes) {
        const list = byQueue.get(note.queue);
        if (list === undefined) byQueue.set(note.queue, [note]);
        else list.push(note);
      }
      for (const [queue, list] of byQueue) {
        if ((await this.store(queue).deliver(list)).noted) noted.add(queue);
      }
      // Deleted only once applied: a relay stopped before this line leaves them for the next pass.
      await source.acknowledge(notes.map((note) => note.id));
      if (notes.length < BATCH) break;
    }
    return noted;
  }
}

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { ClosedError, ConfigMismatchError, RedisTimeoutError, RedisUnavailableError } from '../errors.js';
import { DEFAULT_PREFIX, queueKeys } from '../keys.js';
import { Queue } from '../queue.js';
import { closeConnection, connect, type Connection, type ConnectionOptions } from '../redis/connection.js';
import { Reachability } from '../redis/reachability.js';
import { ScheduleStore } from '../redis/schedule-store.js';
import { QueueStore } from '../redis/store.js';
import type { QueueMetrics } from '../states.js';
import { Scheduler } from '../scheduler.js';
import { observeQueues, type QueueReading } from './instruments.js';
import { COMMAND_TIMEOUT_MS, DEFAULT_METRICS_PORT, HEALTH_TIMEOUT_MS } from './names.js';

/**
 * The standalone metrics exporter behind `sluice metrics`: serves the depth of the given queues, read
 * straight from Redis at each scrape, as Prometheus text at /metrics, and Redis' health at /healthz.
 *
 * It is what an autoscaler should scale on: metrics exported by workers vanish when the workers are
 * scaled to zero, and then nothing would ever scale them up again. One connection serves every queue;
 * a scrape costs one script call per queue (lua/metrics.lua, O(priority levels) commands).
 */
export interface MetricsExporterOptions {
  queues: readonly string[];
  connection: ConnectionOptions;
  prefix?: string;
  /**
   * The queues' priorityLevels. Default: the number each queue recorded in Redis, or 3 for a queue never
   * used yet. A number given here that differs from the recorded one fails the start (ConfigMismatchError)
   * when Redis answers at start; found later, it is reported like any failed read.
   */
  priorityLevels?: number;
  /**
   * Also run a Scheduler per queue (default true): it promotes due delayed jobs and fires recurring
   * schedules while no worker runs. Without it, a queue scaled to zero whose jobs are all delayed never
   * shows a waiting job, and the autoscaler never wakes a worker for them.
   */
  scheduler?: boolean;
  /** 0 picks a free port. Default 9464. */
  port?: number;
  /** Default: every interface. */
  host?: string;
  /**
   * Told about every failed read of a queue (`queue` names it), every error of its Scheduler, and every
   * failed /healthz check (`queue` undefined); the exporter keeps serving. These carry Redis' own text
   * (addresses included), which never goes out over HTTP. Default: a line on stderr when something starts
   * failing or fails differently, and one when a read works again.
   */
  onError?: (error: Error, queue: string | undefined) => void;
}

/**
 * How long a read waits for a lost connection to come back before it gives up without sending anything:
 * 1 s rides out a reconnect to a Redis that is back (ioredis retries at most every 2 s, so a scrape may
 * still miss one), and keeps a scrape while Redis is down as short as the commandTimeout bounds it.
 */
const RECONNECT_WAIT_MS = 1000;

/** A queue of the exporter. Its Queue is built at its first read that gets an answer: it needs the levels the queue recorded. */
interface QueueSlot {
  readonly name: string;
  readonly levels: ScheduleStore;
  queue: Queue | undefined;
}

interface Reading {
  readings: QueueReading[];
  failures: { queue: string; error: Error }[];
}

/**
 * States: listening from start() on, whatever Redis does -> closed. Reads and /healthz checks are
 * coalesced: requests that arrive while one is in flight share its answer, so a flood of scrapes costs
 * Redis one read at a time. Every command has COMMAND_TIMEOUT_MS, and while the connection is down a read
 * waits at most RECONNECT_WAIT_MS for it, so a scrape always answers, leaving out the queues it could not read.
 */
export class MetricsExporter {
  readonly #options: MetricsExporterOptions;
  readonly #connection: Connection;
  readonly #reachability: Reachability;
  readonly #slots: QueueSlot[];
  readonly #pinger: QueueStore | undefined;
  readonly #schedulers: Scheduler[] = [];
  readonly #server: Server;
  readonly #report: Report;
  /** The connection's last error (ECONNREFUSED host:port...), for the local log of a read that found it down. */
  #connectionError: Error | undefined;
  #reading: Promise<Reading> | undefined;
  #checking: Promise<void> | undefined;
  #closing: Promise<void> | undefined;

  private constructor(options: MetricsExporterOptions) {
    this.#options = options;
    this.#report = options.onError === undefined ? new StderrReport() : new CallbackReport(options.onError);
    const prefix = options.prefix ?? DEFAULT_PREFIX;
    for (const name of options.queues) queueKeys(name, prefix, 1); // names and prefix checked before any I/O
    this.#connection = connect(options.connection, { commandTimeout: COMMAND_TIMEOUT_MS });
    const client = this.#connection.client;
    client.on('error', (error: Error) => (this.#connectionError = error));
    // The meta key does not depend on the number of levels: the recorded one is read through level-1 keys.
    this.#slots = options.queues.map((name) => ({ name, levels: new ScheduleStore(client, queueKeys(name, prefix, 1), 0), queue: undefined }));
    const first = options.queues[0];
    this.#pinger = first === undefined ? undefined : new QueueStore(client, queueKeys(first, prefix, 1), 0);
    // One waiting read and one waiting /healthz check at a time (both are coalesced); 10 leaves room for
    // the ones that gave up on their own deadline while their wait still runs.
    this.#reachability = new Reachability(client, RECONNECT_WAIT_MS, 10);
    this.#server = createServer((request, response) => this.#handle(request, response));
  }

  /**
   * Listens, then reads each queue once: a queue created with other priorityLevels than the ones given
   * fails the start here (ConfigMismatchError). A Redis that does not answer is not fatal: start() resolves
   * within about RECONNECT_WAIT_MS + COMMAND_TIMEOUT_MS, /healthz says 503 and scrapes leave the queues out
   * until it answers; the Schedulers keep trying on their own.
   */
  static async start(options: MetricsExporterOptions): Promise<MetricsExporter> {
    const exporter = new MetricsExporter(options);
    try {
      await exporter.#listen(options.port ?? DEFAULT_METRICS_PORT, options.host);
      exporter.#startSchedulers();
      const { failures } = await exporter.#read();
      const mismatch = failures.find(({ error }) => error instanceof ConfigMismatchError);
      if (mismatch !== undefined) throw mismatch.error;
    } catch (error) {
      await exporter.close();
      throw error;
    }
    return exporter;
  }

  #startSchedulers(): void {
    if (this.#options.scheduler === false) return;
    const { prefix, priorityLevels } = this.#options;
    for (const { name } of this.#slots) {
      const scheduler = new Scheduler(name, {
        connection: this.#connection.client,
        ...(prefix === undefined ? {} : { prefix }),
        ...(priorityLevels === undefined ? {} : { priorityLevels }),
      });
      scheduler.on('error', (error) => this.#report.failed(`the Scheduler of queue '${name}'`, error, name));
      this.#schedulers.push(scheduler);
    }
  }

  /** The port it listens on (useful with port 0). */
  get port(): number {
    return (this.#server.address() as AddressInfo).port;
  }

  get queueNames(): string[] {
    return this.#slots.map((slot) => slot.name);
  }

  #listen(port: number, host: string | undefined): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(port, host, () => {
        this.#server.off('error', reject);
        resolve();
      });
    });
  }

  /** Every queue's reading; a scrape that arrives while one is in flight shares it. Never rejects. */
  #read(): Promise<Reading> {
    this.#reading ??= this.#readAll().finally(() => (this.#reading = undefined));
    return this.#reading;
  }

  async #readAll(): Promise<Reading> {
    const results: PromiseSettledResult<QueueMetrics>[] = await this.#connected().then(
      () => Promise.allSettled(this.#slots.map((slot) => this.#readQueue(slot))),
      (error: unknown) => this.#slots.map(() => ({ status: 'rejected', reason: error })),
    );
    const reading: Reading = { readings: [], failures: [] };
    results.forEach((result, i) => {
      const queue = this.#slots[i]?.name ?? '';
      const subject = `reading queue '${queue}'`;
      if (result.status === 'fulfilled') {
        reading.readings.push({ queue, metrics: result.value });
        this.#report.recovered(subject, queue);
      } else {
        const error = result.reason as Error;
        reading.failures.push({ queue, error });
        this.#report.failed(subject, error, queue);
      }
    });
    return reading;
  }

  async #readQueue(slot: QueueSlot): Promise<QueueMetrics> {
    if (slot.queue === undefined) {
      const levels = this.#options.priorityLevels ?? (await slot.levels.recordedLevels());
      // A partitioned queue is read as one: every partition's metrics, added up (src/partitions/).
      const partitions = await slot.levels.recordedPartitions();
      if (this.#closing !== undefined) throw new ClosedError('the metrics exporter');
      const { prefix } = this.#options;
      slot.queue = new Queue(slot.name, {
        connection: this.#connection.client,
        ...(prefix === undefined ? {} : { prefix }),
        ...(levels === undefined ? {} : { priorityLevels: levels }),
        ...(partitions === undefined ? {} : { partitions }),
      });
    }
    return slot.queue.getMetrics();
  }

  /** Resolves once the connection is up, waiting at most RECONNECT_WAIT_MS; a rejection sent nothing. */
  async #connected(): Promise<void> {
    const waiting = this.#reachability.whenReady();
    if (waiting === undefined) return;
    try {
      await waiting;
    } catch (error) {
      const cause = this.#connectionError?.message ?? this.#connection.client.status;
      throw new RedisUnavailableError(`no connection to Redis (${cause}), none within ${RECONNECT_WAIT_MS} ms; nothing was sent`, { cause: error });
    }
  }

  #handle(request: IncomingMessage, response: ServerResponse): void {
    const path = (request.url ?? '/').split('?')[0];
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { allow: 'GET, HEAD' }).end();
    } else if (path === '/metrics') {
      this.#scrape(request, response);
    } else if (path === '/healthz') {
      // The reason stays in the local log (onError): Redis' errors name internal addresses.
      this.#health().then(
        () => response.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n'),
        () => response.writeHead(503, { 'content-type': 'text/plain' }).end('unavailable: Redis does not answer (the exporter logs why)\n'),
      );
    } else {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /metrics or /healthz\n');
    }
  }

  /**
   * A MeterProvider per scrape: for cumulative instruments the SDK keeps every series it has seen and serves
   * its last value, so a queue whose read failed would be served with stale numbers, which an autoscaler
   * would act on. Each scrape here is a whole reading of Redis and nothing needs to carry over, so the
   * totals are served as Redis holds them (obliterate's drop to 0 is a counter reset to Prometheus).
   */
  #scrape(request: IncomingMessage, response: ServerResponse): void {
    const prometheus = new PrometheusExporter({ preventServerStart: true, withoutScopeInfo: true, withoutTargetInfo: true });
    const provider = new MeterProvider({ readers: [prometheus] });
    observeQueues(provider.getMeter('sluice-metrics-exporter'), async () => (await this.#read()).readings);
    response.once('close', () => {
      provider.shutdown().catch(() => undefined);
    });
    prometheus.getMetricsRequestHandler(request, response);
  }

  /** PING within HEALTH_TIMEOUT_MS, the wait for a lost connection included; concurrent checks share one. */
  #health(): Promise<void> {
    this.#checking ??= this.#check().finally(() => (this.#checking = undefined));
    return this.#checking;
  }

  async #check(): Promise<void> {
    const pinger = this.#pinger;
    if (pinger === undefined) return;
    // Started before the deadline: with Redis down, the wait for the connection (RECONNECT_WAIT_MS, as
    // long) ends first, and its error says why (ECONNREFUSED...) where the deadline's could not.
    const answered = this.#connected().then(() => pinger.ping());
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer to PING within ${HEALTH_TIMEOUT_MS} ms`)), HEALTH_TIMEOUT_MS);
    });
    try {
      await Promise.race([answered, deadline]);
      this.#report.recovered('/healthz (PING)', undefined);
    } catch (error) {
      this.#report.failed('/healthz (PING)', error as Error, undefined);
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Stops listening (open scrapes are cut), then closes the queues and the connection. Safe to call twice. */
  close(): Promise<void> {
    this.#closing ??= this.#closeAll();
    return this.#closing;
  }

  async #closeAll(): Promise<void> {
    if (this.#server.listening) {
      const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
      this.#server.closeAllConnections();
      await closed;
    }
    // A read in flight may still open a queue; let it finish (it never rejects) so that queue is closed too.
    await this.#reading;
    await Promise.all(this.#schedulers.map((scheduler) => scheduler.close()));
    await Promise.all(this.#slots.flatMap((slot) => (slot.queue === undefined ? [] : [slot.queue.close()])));
    await closeConnection(this.#connection);
  }
}

/** Where the exporter's failures go: `subject` says what failed ("reading queue 'emails'"). */
interface Report {
  failed(subject: string, error: Error, queue: string | undefined): void;
  recovered(subject: string, queue: string | undefined): void;
}

class CallbackReport implements Report {
  readonly #onError: (error: Error, queue: string | undefined) => void;

  constructor(onError: (error: Error, queue: string | undefined) => void) {
    this.#onError = onError;
  }

  failed(_subject: string, error: Error, queue: string | undefined): void {
    this.#onError(error, queue);
  }

  recovered(): void {}
}

/**
 * The default: a line on stderr when something starts failing or fails differently, and one when it works
 * again, so a Redis outage is a few lines rather than one per scrape and per probe.
 */
class StderrReport implements Report {
  readonly #last = new Map<string, string>();

  failed(subject: string, error: Error): void {
    // A RedisTimeoutError's text says how to retry an add; here it only means Redis did not answer in time.
    const timedOut = error instanceof RedisTimeoutError || error.message === 'Command timed out';
    const message = timedOut ? `Redis did not answer within ${COMMAND_TIMEOUT_MS} ms (commandTimeout)` : error.message;
    if (this.#last.get(subject) === message) return;
    this.#last.set(subject, message);
    process.stderr.write(`sluice metrics: ${subject} failed: ${message}\n`);
  }

  recovered(subject: string, queue: string | undefined): void {
    if (this.#last.delete(subject)) process.stderr.write(`sluice metrics: ${subject} works again\n`);
    // A Scheduler reports its failures but not its recovery: the read of its queue working stands for it,
    // so its next failure is printed again.
    if (queue !== undefined) this.#last.delete(`the Scheduler of queue '${queue}'`);
  }
}

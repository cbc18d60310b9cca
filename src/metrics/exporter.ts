import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { ConfigMismatchError } from '../errors.js';
import { DEFAULT_PREFIX, queueKeys } from '../keys.js';
import { Queue } from '../queue.js';
import { closeConnection, connect, type Connection, type ConnectionOptions } from '../redis/connection.js';
import { ScheduleStore } from '../redis/schedule-store.js';
import { Scheduler } from '../scheduler.js';
import { observeQueues, type QueueReading } from './instruments.js';
import { DEFAULT_METRICS_PORT } from './names.js';

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
   * used yet. A number given here that differs from the recorded one fails the start (ConfigMismatchError).
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
  /** Told about every failed read of a queue; the exporter keeps serving. Default: one line on stderr per new error. */
  onError?: (error: Error, queue: string) => void;
}

/** /healthz answers 503 when Redis has not answered PING by then: 1 s is ~1,000 times a healthy round trip. */
const PING_TIMEOUT_MS = 1000;

export class MetricsExporter {
  readonly #connection: Connection;
  readonly #queues: Queue[] = [];
  readonly #schedulers: Scheduler[] = [];
  readonly #provider: MeterProvider;
  readonly #prometheus: PrometheusExporter;
  readonly #server: Server;
  readonly #onError: (error: Error, queue: string) => void;
  #closing: Promise<void> | undefined;

  private constructor(options: MetricsExporterOptions) {
    this.#onError = options.onError ?? stderrOnce();
    for (const name of options.queues) queueKeys(name, options.prefix ?? DEFAULT_PREFIX, 1); // names and prefix checked before any I/O
    this.#connection = connect(options.connection);
    this.#prometheus = new PrometheusExporter({ preventServerStart: true, withoutScopeInfo: true, withoutTargetInfo: true });
    this.#provider = new MeterProvider({ readers: [this.#prometheus] });
    observeQueues(this.#provider.getMeter('sluice-metrics-exporter'), () => this.#read());
    this.#server = createServer((request, response) => this.#handle(request, response));
  }

  /**
   * Opens the queues, reads each once (a queue created with other priorityLevels than the ones given
   * fails here, with ConfigMismatchError), starts the Schedulers and listens. A Redis that does not answer
   * yet is not fatal: /healthz says 503 and scrapes leave the queues out until it does.
   */
  static async start(options: MetricsExporterOptions): Promise<MetricsExporter> {
    const exporter = new MetricsExporter(options);
    try {
      await exporter.#open(options);
      await exporter.#listen(options.port ?? DEFAULT_METRICS_PORT, options.host);
    } catch (error) {
      await exporter.close();
      throw error;
    }
    return exporter;
  }

  async #open(options: MetricsExporterOptions): Promise<void> {
    const client = this.#connection.client;
    const prefix = options.prefix === undefined ? {} : { prefix: options.prefix };
    for (const name of options.queues) {
      // The meta key does not depend on the number of levels: read the recorded one first, as the Scheduler does.
      const recorded = options.priorityLevels ?? (await this.#recordedLevels(name, options.prefix));
      const levels = recorded === undefined ? {} : { priorityLevels: recorded };
      this.#queues.push(new Queue(name, { connection: client, ...prefix, ...levels }));
      if (options.scheduler !== false) {
        const scheduler = new Scheduler(name, { connection: client, ...prefix, ...levels });
        scheduler.on('error', (error) => this.#onError(error, name));
        this.#schedulers.push(scheduler);
      }
    }
    const results = await Promise.allSettled(this.#queues.map((queue) => queue.getMetrics()));
    results.forEach((result, i) => {
      if (result.status === 'fulfilled') return;
      const error = result.reason as Error;
      if (error instanceof ConfigMismatchError) throw error;
      this.#onError(error, this.#queues[i]?.name ?? '');
    });
  }

  /** undefined when the queue was never used, or Redis does not answer yet (the first read then reports it). */
  async #recordedLevels(name: string, prefix: string | undefined): Promise<number | undefined> {
    try {
      return await new ScheduleStore(this.#connection.client, queueKeys(name, prefix ?? DEFAULT_PREFIX, 1), 0).recordedLevels();
    } catch {
      return undefined;
    }
  }

  /** The port it listens on (useful with port 0). */
  get port(): number {
    return (this.#server.address() as AddressInfo).port;
  }

  get queueNames(): string[] {
    return this.#queues.map((queue) => queue.name);
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

  async #read(): Promise<QueueReading[]> {
    const results = await Promise.allSettled(this.#queues.map((queue) => queue.getMetrics()));
    const readings: QueueReading[] = [];
    results.forEach((result, i) => {
      const queue = this.#queues[i]?.name ?? '';
      if (result.status === 'fulfilled') readings.push({ queue, metrics: result.value });
      else this.#onError(result.reason as Error, queue);
    });
    return readings;
  }

  #handle(request: IncomingMessage, response: ServerResponse): void {
    const path = (request.url ?? '/').split('?')[0];
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { allow: 'GET, HEAD' }).end();
    } else if (path === '/metrics') {
      this.#prometheus.getMetricsRequestHandler(request, response);
    } else if (path === '/healthz') {
      this.#health().then(
        () => response.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n'),
        (error: unknown) => response.writeHead(503, { 'content-type': 'text/plain' }).end(`redis does not answer: ${(error as Error).message}\n`),
      );
    } else {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /metrics or /healthz\n');
    }
  }

  async #health(): Promise<void> {
    const first = this.#queues[0];
    if (first === undefined) return;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer to PING within ${PING_TIMEOUT_MS} ms`)), PING_TIMEOUT_MS);
    });
    try {
      await Promise.race([first.store.ping(), timeout]);
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
    await this.#provider.shutdown().catch(() => undefined);
    await Promise.all(this.#schedulers.map((scheduler) => scheduler.close()));
    await Promise.all(this.#queues.map((queue) => queue.close()));
    await closeConnection(this.#connection);
  }
}

/** Prints an error when it differs from the last one printed for that queue: a Redis outage is one line, not one per scrape. */
function stderrOnce(): (error: Error, queue: string) => void {
  const last = new Map<string, string>();
  return (error, queue) => {
    if (last.get(queue) === error.message) return;
    last.set(queue, error.message);
    process.stderr.write(`sluice metrics: reading queue '${queue}' failed: ${error.message}\n`);
  };
}

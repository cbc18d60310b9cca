/**
 * The Kubernetes HorizontalPodAutoscaler, played on one machine: the shared logic of examples/autoscale.ts
 * and test/fault/autoscale.test.ts.
 *
 * Every `intervalMs` it reads the exporter's /metrics over HTTP (a real `sluice metrics` process), takes
 * the queue's waiting jobs, and applies the HPA's rule for an External metric with an AverageValue
 * target: desired = ceil(current x (waiting / current) / target), left alone within the 10 % tolerance,
 * clamped to [min, max], and on the way down the highest recommendation of the last
 * `scaleDownWindowMs` (the HPA's scale-down stabilisation window). Worker processes are started, or
 * SIGTERMed newest first, to match; a SIGTERMed worker finishes its running jobs before it exits.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../', import.meta.url));

// ---- Prometheus text ------------------------------------------------------------------------------

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses Prometheus' text format (the subset the OpenTelemetry exporter writes: no timestamps). */
export function parsePrometheus(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (match === null) continue;
    const labels: Record<string, string> = {};
    for (const pair of (match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[pair[1] as string] = (pair[2] as string).replace(/\\(.)/g, '$1');
    samples.push({ name: match[1] as string, labels, value: Number(match[3]) });
  }
  return samples;
}

/** The value of the one sample of `name` whose labels include `labels`; undefined when there is none. */
export function sampleValue(samples: readonly Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  return samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
}

export async function scrape(port: number): Promise<Sample[]> {
  const response = await fetch(`http://127.0.0.1:${port}/metrics`);
  if (!response.ok) throw new Error(`/metrics answered ${response.status}`);
  return parsePrometheus(await response.text());
}

// ---- processes ----------------------------------------------------------------------------------------

export interface Process {
  readonly child: ChildProcess;
  /** Every stdout line so far. */
  readonly lines: string[];
  readonly exited: Promise<number | string>;
}

/** Runs a TypeScript file of this repository (through tsx) with `env` added. */
export function runTs(file: string, args: readonly string[], env: Record<string, string>): Process {
  const child = spawn(process.execPath, ['--import', 'tsx', file, ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  let partial = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    const parts = (partial + chunk.toString()).split('\n');
    partial = parts.pop() ?? '';
    lines.push(...parts);
  });
  child.stderr?.on('data', (chunk: Buffer) => process.stderr.write(chunk));
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')));
  return { child, lines, exited };
}

export interface Exporter extends Process {
  readonly port: number;
  /** SIGTERM, and its exit code. */
  stop(): Promise<number | string>;
}

/** Starts `sluice metrics` (src/cli.ts) on a free port; resolves once it serves. */
export async function startExporter(redisUrl: string, queues: readonly string[], extra: readonly string[] = []): Promise<Exporter> {
  const run = runTs('src/cli.ts', ['metrics', '--queues', queues.join(','), '--redis', redisUrl, '--port', '0', ...extra], {});
  const deadline = Date.now() + 30_000;
  let port: number | undefined;
  while (port === undefined) {
    const line = run.lines.find((l) => l.includes(' on port '));
    if (line !== undefined) port = Number(/ on port (\d+)/.exec(line)?.[1]);
    else if (run.child.exitCode !== null) throw new Error(`sluice metrics exited with ${run.child.exitCode} before serving`);
    else if (Date.now() > deadline) throw new Error('sluice metrics did not start within 30 s');
    else await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    ...run,
    port,
    stop: () => {
      run.child.kill('SIGTERM');
      return run.exited;
    },
  };
}

// ---- the HPA rule -------------------------------------------------------------------------------------

export interface ScalePolicy {
  minReplicas: number;
  maxReplicas: number;
  /** Jobs waiting per replica the HPA aims at (the AverageValue target). */
  target: number;
  /** The HPA's default tolerance: no change while the ratio is within 10 % of 1. */
  tolerance?: number;
}

/** One HPA evaluation: the replica count the metric asks for, before stabilisation. */
export function desiredReplicas(current: number, waiting: number, policy: ScalePolicy): number {
  const clamp = (n: number): number => Math.min(policy.maxReplicas, Math.max(policy.minReplicas, n));
  // With no replica there is no average; the HPA never goes below 1 (minReplicas >= 1), KEDA activates on any work.
  if (current === 0) return clamp(waiting > 0 ? Math.ceil(waiting / policy.target) : 0);
  const perReplica = waiting / current;
  const ratio = perReplica / policy.target;
  if (Math.abs(ratio - 1) <= (policy.tolerance ?? 0.1)) return clamp(current);
  return clamp(Math.ceil(current * ratio));
}

// ---- the controller -----------------------------------------------------------------------------------

export interface AutoscalerOptions extends ScalePolicy {
  queue: string;
  exporterPort: number;
  /** The worker program and what to add to its environment. */
  worker: { file: string; env: Record<string, string> };
  intervalMs?: number;
  scaleDownWindowMs: number;
  log?: (line: string) => void;
}

export interface ScaleEvent {
  at: number;
  waiting: number;
  from: number;
  to: number;
}

export class Autoscaler {
  /** Workers counted as replicas (not being stopped). */
  readonly #running: Process[] = [];
  /** Every worker ever started, stopped ones included: their stdout is the ledger. */
  readonly all: Process[] = [];
  readonly events: ScaleEvent[] = [];
  /** The highest replica count seen, and the last reading. */
  peak = 0;
  lastWaiting = Number.NaN;
  readonly #recommendations: { at: number; replicas: number }[] = [];
  readonly #options: AutoscalerOptions;
  #timer: NodeJS.Timeout | undefined;
  #ticking: Promise<void> = Promise.resolve();

  constructor(options: AutoscalerOptions) {
    this.#options = options;
  }

  get replicas(): number {
    return this.#running.length;
  }

  /** Starts minReplicas workers and evaluates every interval (the first evaluation at once). */
  start(): void {
    this.#scaleTo(this.#options.minReplicas, Number.NaN);
    let busy = false;
    const tick = (): void => {
      // A slow scrape skips a beat rather than running two evaluations at once.
      if (busy) return;
      busy = true;
      this.#ticking = this.#tick()
        .finally(() => (busy = false))
        .catch((error: unknown) => this.#log(`evaluation failed: ${(error as Error).message}`));
    };
    tick();
    this.#timer = setInterval(tick, this.#options.intervalMs ?? 1000);
  }

  async #tick(): Promise<void> {
    const samples = await scrape(this.#options.exporterPort);
    const waiting = sampleValue(samples, 'sluice_queue_jobs', { queue: this.#options.queue, state: 'waiting' });
    // A missing metric (Redis unreadable) changes nothing, as the HPA does.
    if (waiting === undefined) return;
    this.lastWaiting = waiting;
    const now = Date.now();
    const wanted = desiredReplicas(this.replicas, waiting, this.#options);
    this.#recommendations.push({ at: now, replicas: wanted });
    while ((this.#recommendations[0]?.at ?? now) < now - this.#options.scaleDownWindowMs) this.#recommendations.shift();
    // Up at once; down only to the highest recommendation of the stabilisation window, so a brief dip
    // (the queue empty between two bursts) does not stop workers that are needed again a moment later.
    const highest = Math.max(...this.#recommendations.map((r) => r.replicas));
    this.#scaleTo(wanted >= this.replicas ? wanted : Math.min(this.replicas, highest), waiting);
  }

  #scaleTo(replicas: number, waiting: number): void {
    const from = this.replicas;
    if (replicas === from) return;
    while (this.#running.length < replicas) {
      const worker = runTs(this.#options.worker.file, [], this.#options.worker.env);
      this.#running.push(worker);
      this.all.push(worker);
    }
    while (this.#running.length > replicas) this.#running.pop()?.child.kill('SIGTERM');
    this.peak = Math.max(this.peak, replicas);
    this.events.push({ at: Date.now(), waiting, from, to: replicas });
    this.#log(`${Number.isNaN(waiting) ? 'start' : `waiting ${waiting}`}: ${from} -> ${replicas} workers`);
  }

  #log(line: string): void {
    this.#options.log?.(line);
  }

  /** Stops evaluating, SIGTERMs every worker still running, and waits for all to exit; returns their exit codes. */
  async stop(): Promise<(number | string)[]> {
    clearInterval(this.#timer);
    await this.#ticking;
    for (const worker of this.#running.splice(0)) worker.child.kill('SIGTERM');
    return Promise.all(this.all.map((worker) => worker.exited));
  }

  /** Every job id each worker printed for `what` ('start' or 'done'), all workers together. */
  ledger(what: 'start' | 'done'): string[] {
    const prefix = `${what} `;
    return this.all.flatMap((worker) => worker.lines.filter((line) => line.startsWith(prefix)).map((line) => line.slice(prefix.length)));
  }
}

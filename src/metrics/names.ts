/**
 * The metrics the standalone exporter (`sluice metrics`) serves, by the names Prometheus sees, and the port
 * and time bounds it serves them with. Kept apart from the OpenTelemetry code so the Kubernetes manifests'
 * test can check its queries and probes against these without loading the SDK. The worker-side instruments (sluice_jobs_processed_total,
 * sluice_job_duration_seconds) live in src/telemetry/metrics.ts; these read Redis and so keep reporting
 * while no worker runs, which is what an autoscaler must scale on.
 */
export interface ExporterMetric {
  readonly name: string;
  readonly kind: 'gauge' | 'counter';
  readonly labels: readonly string[];
  readonly help: string;
}

/** Values of the `state` label of sluice_queue_jobs: the states of Queue#getCounts(). */
export const JOB_STATES = ['waiting', 'paused', 'active', 'delayed', 'blocked', 'completed', 'failed'] as const;

export const QUEUE_JOBS: ExporterMetric = {
  name: 'sluice_queue_jobs',
  kind: 'gauge',
  labels: ['queue', 'state'],
  help: 'Jobs per state, as Queue#getCounts(): waiting (could start now), paused (waiting in a paused queue), active, delayed, blocked (waiting for the jobs they depend on), completed and failed (kept by retention)',
};

export const WAITING_JOBS: ExporterMetric = {
  name: 'sluice_queue_waiting_jobs',
  kind: 'gauge',
  labels: ['queue', 'level'],
  help: "Waiting jobs by priority level (level 0 runs first), paused or not; level 'grouped' counts jobs waiting in their groups",
};

export const LIMITED_JOBS: ExporterMetric = {
  name: 'sluice_queue_limited_jobs',
  kind: 'gauge',
  labels: ['queue'],
  help: 'Waiting jobs whose group a rate or concurrency limit holds back; not reported while more than 1,000 groups are held',
};

export const LIMITED_GROUPS: ExporterMetric = {
  name: 'sluice_queue_limited_groups',
  kind: 'gauge',
  labels: ['queue'],
  help: 'Groups a rate window, a RateLimitError hold or their concurrency limit holds back',
};

export const OLDEST_WAITING: ExporterMetric = {
  name: 'sluice_queue_oldest_waiting_seconds',
  kind: 'gauge',
  labels: ['queue'],
  help: 'Age of the oldest ungrouped waiting job (since it became ready), 0 when none waits',
};

export const PAUSED: ExporterMetric = {
  name: 'sluice_queue_paused',
  kind: 'gauge',
  labels: ['queue'],
  help: '1 while the queue is paused, else 0',
};

export const COMPLETED_TOTAL: ExporterMetric = {
  name: 'sluice_queue_completed_total',
  kind: 'counter',
  labels: ['queue'],
  help: 'Jobs completed since the queue was created (reset by obliterate)',
};

export const FAILED_TOTAL: ExporterMetric = {
  name: 'sluice_queue_failed_total',
  kind: 'counter',
  labels: ['queue'],
  help: 'Jobs failed for good (attempts used up, or stalled too often) since the queue was created (reset by obliterate)',
};

export const EXPORTER_METRICS: readonly ExporterMetric[] = [
  QUEUE_JOBS,
  WAITING_JOBS,
  LIMITED_JOBS,
  LIMITED_GROUPS,
  OLDEST_WAITING,
  PAUSED,
  COMPLETED_TOTAL,
  FAILED_TOTAL,
];

/** The exporter's default port: Prometheus' registered port for OpenTelemetry exporters. */
export const DEFAULT_METRICS_PORT = 9464;

/**
 * The exporter connection's commandTimeout (ms), for its reads and its Schedulers. A read is one script of
 * O(priority levels) commands that answers in well under a millisecond, so 2 s means Redis is frozen or
 * overloaded. Added to the 1 s a read waits for a lost connection to come back, a scrape answers within
 * about 3 s (the unreadable queues left out), well inside Prometheus' default scrape_timeout of 10 s.
 */
export const COMMAND_TIMEOUT_MS = 2000;

/**
 * /healthz answers 503 when Redis has not answered PING by then (ms): 1 s is about 1,000 healthy round
 * trips, and under the readiness probe's timeoutSeconds (2 in examples/k8s/exporter.yaml), so the kubelet
 * gets the 503 rather than timing out on its own.
 */
export const HEALTH_TIMEOUT_MS = 1000;

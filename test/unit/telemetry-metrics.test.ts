// The worker-side instruments as Prometheus sees them: names and labels exactly as the 0.223 Prometheus
// exporter writes them, through a MeterProvider registered the way an application would.
import { describe, expect, it } from 'vitest';
import { WorkerMetrics } from '../../src/telemetry/metrics.js';
import { usePrometheus } from '../harness/prometheus.js';

describe('worker metrics through the Prometheus exporter', () => {
  const { scrape } = usePrometheus();

  it('exposes sluice_jobs_processed_total and sluice_job_duration_seconds by queue and status', async () => {
    const worker = new WorkerMetrics('emails');
    worker.record('completed', 0.003);
    worker.record('completed', 0.2);
    worker.record('retried', 1.5);
    worker.record('failed', 40);
    worker.record('rate_limited', 0.001);

    const text = await scrape();

    expect(text).toContain('# TYPE sluice_jobs_processed_total counter');
    expect(text).toContain('sluice_jobs_processed_total{queue="emails",status="completed"} 2');
    expect(text).toContain('sluice_jobs_processed_total{queue="emails",status="retried"} 1');
    expect(text).toContain('sluice_jobs_processed_total{queue="emails",status="failed"} 1');
    expect(text).toContain('sluice_jobs_processed_total{queue="emails",status="rate_limited"} 1');

    expect(text).toContain('# TYPE sluice_job_duration_seconds histogram');
    // Second-scaled buckets: 3 ms falls in the first (5 ms), 200 ms under 250 ms, 40 s under 60 s.
    expect(text).toContain('sluice_job_duration_seconds_bucket{queue="emails",status="completed",le="0.005"} 1');
    expect(text).toContain('sluice_job_duration_seconds_bucket{queue="emails",status="completed",le="0.25"} 2');
    expect(text).toContain('sluice_job_duration_seconds_bucket{queue="emails",status="failed",le="30"} 0');
    expect(text).toContain('sluice_job_duration_seconds_bucket{queue="emails",status="failed",le="60"} 1');
    expect(text).toContain('sluice_job_duration_seconds_count{queue="emails",status="completed"} 2');
    expect(text).toMatch(/sluice_job_duration_seconds_sum\{queue="emails",status="completed"\} 0\.203/);
  });
});

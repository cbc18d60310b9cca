import { metrics } from '@opentelemetry/api';
import { PrometheusExporter, PrometheusSerializer } from '@opentelemetry/exporter-prometheus';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { afterAll } from 'vitest';

/**
 * In a test file: a MeterProvider registered globally, the way an application would, read through the
 * 0.223 Prometheus exporter without its HTTP server. `scrape()` returns the text Prometheus would get,
 * without target_info and the otel_scope_* labels, so lines compare exactly (neither changes a name).
 */
export function usePrometheus(): { scrape: () => Promise<string> } {
  const exporter = new PrometheusExporter({ preventServerStart: true });
  const provider = new MeterProvider({ readers: [exporter] });
  metrics.setGlobalMeterProvider(provider);
  afterAll(async () => {
    await provider.shutdown();
    metrics.disable();
  });
  return {
    scrape: async () => {
      const { resourceMetrics } = await exporter.collect();
      return new PrometheusSerializer(undefined, false, undefined, true, true).serialize(resourceMetrics);
    },
  };
}

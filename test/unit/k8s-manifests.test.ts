import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ScaledObject } from '@kubernetes-models/keda/keda.sh/v1alpha1';
import { Deployment } from 'kubernetes-models/apps/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { ConfigMap, Service } from 'kubernetes-models/v1';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { DEFAULT_METRICS_PORT, EXPORTER_METRICS, HEALTH_TIMEOUT_MS, JOB_STATES } from '../../src/metrics/names.js';

/**
 * examples/k8s/: every document is checked against the Kubernetes (and KEDA) schemas with
 * kubernetes-models, then tied to the code: the metric names the autoscalers query are ones the exporter
 * serves, ports agree, and the worker's grace period covers its drain.
 *
 * kubernetes-models checks types, required fields and formats but lets unknown fields through, so the
 * fields these manifests depend on are also read back by name below (a misspelt one reads undefined).
 */
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DIR = join(ROOT, 'examples/k8s');

type Doc = Record<string, unknown> & { kind: string; apiVersion: string; metadata: { name: string } };

const models = {
  Deployment: { model: Deployment, apiVersion: 'apps/v1' },
  Service: { model: Service, apiVersion: 'v1' },
  ConfigMap: { model: ConfigMap, apiVersion: 'v1' },
  HorizontalPodAutoscaler: { model: HorizontalPodAutoscaler, apiVersion: 'autoscaling/v2' },
  ScaledObject: { model: ScaledObject, apiVersion: 'keda.sh/v1alpha1' },
} as const;

const files = readdirSync(DIR).filter((file) => file.endsWith('.yaml')).sort();
const docs: { file: string; doc: Doc }[] = files.flatMap((file) =>
  parseAllDocuments(readFileSync(join(DIR, file), 'utf8')).map((parsed) => {
    if (parsed.errors.length > 0) throw new Error(`${file}: ${parsed.errors.map((e) => e.message).join('; ')}`);
    return { file, doc: parsed.toJS() as Doc };
  }),
);

function find<T>(kind: string, name: string): T {
  const found = docs.find(({ doc }) => doc.kind === kind && doc.metadata.name === name);
  if (found === undefined) throw new Error(`no ${kind} '${name}' in examples/k8s`);
  return found.doc as T;
}

/** The metric names a PromQL expression mentions: identifiers right before `{` or `(` that are not functions. */
function metricNames(promql: string): string[] {
  return [...promql.matchAll(/\b([a-z_:][a-z0-9_:]*)\s*\{/g)].map((m) => m[1] as string).filter((name) => name.startsWith('sluice_'));
}

const exporterNames = EXPORTER_METRICS.map((metric) => metric.name);
const worker = find<Deployment>('Deployment', 'sluice-worker');
const exporter = find<Deployment>('Deployment', 'sluice-metrics');
const service = find<Service>('Service', 'sluice-metrics');
const hpa = find<HorizontalPodAutoscaler>('HorizontalPodAutoscaler', 'sluice-worker');
const keda = find<ScaledObject>('ScaledObject', 'sluice-worker');
const adapter = find<ConfigMap>('ConfigMap', 'prometheus-adapter');

const env = (deployment: Deployment, name: string): string | undefined => deployment.spec?.template.spec?.containers[0]?.env?.find((e) => e.name === name)?.value;
const command = (deployment: Deployment): string[] => deployment.spec?.template.spec?.containers[0]?.command ?? [];
const flag = (args: string[], name: string): string | undefined => args[args.indexOf(name) + 1];

describe('examples/k8s manifests', () => {
  it('holds the five files, each document of a known kind', () => {
    expect(files).toEqual(['exporter.yaml', 'hpa.yaml', 'keda.yaml', 'prometheus-adapter.yaml', 'worker.yaml']);
    expect(docs.map(({ doc }) => doc.kind).sort()).toEqual(['ConfigMap', 'Deployment', 'Deployment', 'HorizontalPodAutoscaler', 'ScaledObject', 'Service']);
  });

  for (const { file, doc } of docs) {
    it(`${file}: ${doc.kind} '${doc.metadata.name}' passes its schema`, () => {
      const entry = models[doc.kind as keyof typeof models];
      expect(entry, `unexpected kind ${doc.kind}`).toBeDefined();
      expect(doc.apiVersion).toBe(entry.apiVersion);
      // new Model(doc).validate() throws with the failing path when the document breaks the schema.
      expect(() => new entry.model(doc as never).validate()).not.toThrow();
    });
  }

  it('the schema check is real: a wrong type or a missing required field is refused', () => {
    const broken = structuredClone(worker) as unknown as { spec: { template: { spec: Record<string, unknown> } } };
    broken.spec.template.spec.terminationGracePeriodSeconds = 'sixty';
    expect(() => new Deployment(broken as never).validate()).toThrow(/terminationGracePeriodSeconds/);
    const noTrigger = { ...structuredClone(keda), spec: { ...keda.spec, triggers: undefined } };
    expect(() => new ScaledObject(noTrigger as never).validate()).toThrow(/triggers/);
  });

  it("the worker's grace period covers its drain timeout, which the worker program reads", () => {
    const grace = worker.spec?.template.spec?.terminationGracePeriodSeconds ?? 30;
    const drain = Number(env(worker, 'DRAIN_TIMEOUT_MS'));
    expect(drain).toBeGreaterThan(0);
    expect(grace * 1000).toBeGreaterThan(drain);
    const program = command(worker).find((arg) => arg.endsWith('.ts'));
    expect(program).toBeDefined();
    expect(existsSync(join(ROOT, program as string))).toBe(true);
    const source = readFileSync(join(ROOT, program as string), 'utf8');
    expect(source).toContain('process.env.DRAIN_TIMEOUT_MS');
    expect(source).toMatch(/SIGTERM[\s\S]*worker\.close\(\)/);
    // No preStop: a worker has no Service endpoints to leave (see worker.yaml).
    expect(worker.spec?.template.spec?.containers[0]?.lifecycle?.preStop).toBeUndefined();
  });

  it('the exporter runs `sluice metrics` on the port its container, probes, Service and scrape annotations name', () => {
    const args = command(exporter);
    expect(args.slice(0, 3)).toEqual(['npx', 'sluice', 'metrics']);
    const port = Number(flag(args, '--port'));
    expect(port).toBe(DEFAULT_METRICS_PORT);
    const container = exporter.spec?.template.spec?.containers[0];
    expect(container?.ports).toEqual([{ name: 'metrics', containerPort: port }]);
    expect(container?.readinessProbe?.httpGet).toEqual({ path: '/healthz', port: 'metrics' });
    // The kubelet waits timeoutSeconds (default 1) for /healthz, which gives up on PING after HEALTH_TIMEOUT_MS.
    expect((container?.readinessProbe?.timeoutSeconds ?? 1) * 1000).toBeGreaterThan(HEALTH_TIMEOUT_MS);
    // Liveness must not hang on Redis: a Redis outage would restart the exporter in a loop.
    expect(container?.livenessProbe?.tcpSocket).toEqual({ port: 'metrics' });
    expect(service.spec?.ports).toEqual([{ name: 'metrics', port, targetPort: 'metrics' }]);
    // The Service selects the exporter's pods (and only them: not the workers).
    expect(service.spec?.selector).toBeDefined();
    expect(exporter.spec?.template.metadata?.labels).toMatchObject(service.spec?.selector ?? {});
    expect(worker.spec?.template.metadata?.labels).not.toMatchObject(service.spec?.selector ?? {});
    expect(service.metadata?.annotations).toMatchObject({ 'prometheus.io/scrape': 'true', 'prometheus.io/port': String(port), 'prometheus.io/path': '/metrics' });
  });

  it('the HPA scales the worker Deployment on the adapter rule’s External metric, which queries an exporter metric', () => {
    const config = parse(adapter.data?.['config.yaml'] ?? '') as { externalRules: { seriesQuery: string; metricsQuery: string; name: { as: string } }[] };
    const [rule] = config.externalRules;
    expect(rule).toBeDefined();
    for (const query of [rule!.seriesQuery, rule!.metricsQuery.replace('<<.Series>>', metricNames(rule!.seriesQuery)[0] ?? '')]) {
      const names = metricNames(query);
      expect(names.length).toBeGreaterThan(0);
      for (const name of names) expect(exporterNames).toContain(name);
    }
    const queue = flag(command(exporter), '--queues');
    expect(hpa.spec?.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: worker.metadata?.name });
    const [metric] = hpa.spec?.metrics ?? [];
    expect(metric?.type).toBe('External');
    expect(metric?.external?.metric.name).toBe(rule!.name.as);
    expect(metric?.external?.metric.selector?.matchLabels).toEqual({ queue });
    expect(metric?.external?.target.type).toBe('AverageValue');
    expect(env(worker, 'QUEUE')).toBe(queue);
    expect(hpa.spec?.minReplicas).toBeGreaterThanOrEqual(1);
  });

  it('KEDA scales the same Deployment to zero on a prometheus query of exporter metrics, not on redis-streams lag', () => {
    expect(keda.spec.scaleTargetRef.name).toBe(worker.metadata?.name);
    expect(keda.spec.minReplicaCount).toBe(0);
    const [trigger] = keda.spec.triggers;
    expect(trigger?.type).toBe('prometheus');
    const query = String(trigger?.metadata.query);
    const names = metricNames(query);
    expect(names).toEqual(['sluice_queue_jobs']);
    expect(query).toContain(`queue="${flag(command(exporter), '--queues')}"`);
    const states = /state=~"([^"]+)"/.exec(query)?.[1]?.split('|') ?? [];
    expect(states.length).toBeGreaterThan(0);
    for (const state of states) expect(JOB_STATES).toContain(state);
    expect(Number(trigger?.metadata.threshold)).toBeGreaterThan(0);
    expect(keda.spec.triggers.some((t) => t.type === 'redis-streams')).toBe(false);
  });
});

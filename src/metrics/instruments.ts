import type { BatchObservableResult, Meter, Observable } from '@opentelemetry/api';
import type { QueueMetrics } from '../states.js';
import {
  COMPLETED_TOTAL,
  FAILED_TOTAL,
  LIMITED_GROUPS,
  LIMITED_JOBS,
  OLDEST_WAITING,
  PAUSED,
  QUEUE_JOBS,
  WAITING_JOBS,
  type ExporterMetric,
} from './names.js';

/** One queue's reading at scrape time. */
export interface QueueReading {
  readonly queue: string;
  readonly metrics: QueueMetrics;
}

/**
 * Registers the exporter's instruments on `meter`, all fed by one batch callback: each scrape calls `read`
 * once, which reads every queue (one script call each), and observes every instrument from the answers.
 * A queue whose read failed is left out of that scrape (its series go stale) rather than reported as 0,
 * which an autoscaler would take for an empty queue.
 */
export function observeQueues(meter: Meter, read: () => Promise<readonly QueueReading[]>): () => void {
  const gauge = (metric: ExporterMetric): Observable => meter.createObservableGauge(metric.name, { description: metric.help });
  const counter = (metric: ExporterMetric): Observable => meter.createObservableCounter(metric.name, { description: metric.help });
  const jobs = gauge(QUEUE_JOBS);
  const waiting = gauge(WAITING_JOBS);
  const limited = gauge(LIMITED_JOBS);
  const limitedGroups = gauge(LIMITED_GROUPS);
  const oldest = gauge(OLDEST_WAITING);
  const paused = gauge(PAUSED);
  const completed = counter(COMPLETED_TOTAL);
  const failed = counter(FAILED_TOTAL);

  const observables = [jobs, waiting, limited, limitedGroups, oldest, paused, completed, failed];
  const callback = async (result: BatchObservableResult): Promise<void> => {
    for (const { queue, metrics: m } of await read()) {
      const states = { waiting: m.waiting, paused: m.paused, active: m.active, delayed: m.delayed, blocked: m.blocked, completed: m.completed, failed: m.failed };
      for (const [state, value] of Object.entries(states)) result.observe(jobs, value, { queue, state });
      m.waitingByLevel.forEach((value, level) => result.observe(waiting, value, { queue, level: String(level) }));
      result.observe(waiting, m.waitingGrouped, { queue, level: 'grouped' });
      if (m.limited !== null) result.observe(limited, m.limited, { queue });
      result.observe(limitedGroups, m.limitedGroups, { queue });
      result.observe(oldest, (m.oldestWaitingMs ?? 0) / 1000, { queue });
      result.observe(paused, m.isPaused ? 1 : 0, { queue });
      result.observe(completed, m.completedTotal, { queue });
      result.observe(failed, m.failedTotal, { queue });
    }
  };
  meter.addBatchObservableCallback(callback, observables);
  // The way back out: a Worker that observes its queue stops before it closes its connection.
  return () => meter.removeBatchObservableCallback(callback, observables);
}

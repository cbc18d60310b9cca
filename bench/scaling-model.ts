/**
 * The cost model of partitioned queues (docs/ARCHITECTURE.md, "Scaling model"): the Redis instructions a
 * job costs its master, as a function of the script calls per job. bench/partitions.ts prints it beside
 * what it measured; bench/partitions-model.ts prints the table in the docs and the model's check.
 *
 * A job costs its master its own work (its entry added, claimed, acknowledged, recorded, its events) plus a
 * share of each script call's fixed work (the call, its KEYS and ARGV, the reads of meta, XREADGROUP over
 * the streams, the trim, the history count): PER_CALL over the jobs of the call. Partitioning changes only
 * the second term: a producer's adds in flight and a worker's slots are split over partitions, so the same
 * jobs take more calls. The number of masters changes neither: a call runs on its partition's master
 * whichever that is, so N partitions on the local 3 masters make the calls per job that N masters would
 * (each master then holds N/3 of them). The model's one input is the script calls per job, which
 * bench/partitions.ts measures (Redis' commandstats) for the real worker and producer.
 *
 * The simulation of a worker's claim loops the model used before is gone: against the bench it gave 0.123
 * processing calls per job unpartitioned and 0.352 over 3 partitions where 0.016 and 0.032 were measured
 * (it simulated jobs 8 round trips long; the bench's return at once, and every running job's completion
 * shares one call), and for 10 ms jobs 0.123, 0.352, 0.732, 0.897 at 1, 3, 10, 100 partitions where
 * 0.023, 0.17-0.18, 0.50-0.52, 1.81-1.97 were measured (Node runs the timers of jobs started together in
 * one turn, so their completions share a call; over 100 partitions nearly every job is a claim call and a
 * complete call of its own). Calls per job come from the event loop's timing, which the simulation did
 * not have.
 */

/**
 * Instructions a script call costs beyond its jobs' own work: the slope that fits the nine runs under
 * callgrind (bench/partitions-model.ts CHECKS: 3, 10 and 100 partitions against the unpartitioned queue;
 * jobs that return at once and 10 ms jobs; one redis-server and 3 masters; 0.02 to 2.3 calls per job)
 * best, each within 4.8%. Each run alone implies 183,000 to 346,000: what a call does varies (a claim of
 * 64 jobs or of one, a complete that must ask XINFO GROUPS for its trim bound or not). Before, the model
 * took 372,000, from a worker at concurrency 1 (one complete-and-claim call per job), about right for
 * that call; the same single-Redis runs put such a call at 385,000 (515,066 instructions per job at 1.007
 * calls per job, against 135,128 at 0.021).
 */
export const PER_CALL = 300_000;

/**
 * How far the model may be from callgrind's count and still agree: the largest deviation over the nine
 * runs, 4.8%, rounded up. Outside it: where the extra calls are claims of one job each (a worker at
 * concurrency 1 over 3 partitions, about 155,000 instructions per extra call), the model counts 22% too
 * much.
 */
export const TOLERANCE = 0.05;

/** A measured run the model starts from: instructions per job at some calls per job (the unpartitioned queue). */
export interface Baseline {
  readonly instructionsPerJob: number;
  readonly callsPerJob: number;
}

/**
 * The unpartitioned queue of bench/partitions.ts on 3 masters under callgrind, jobs that return at once
 * (bench/results/partitions-2026-12-06T13-52-39Z.json): where the model starts when a run has no
 * instruction count of its own. The 10 ms jobs' unpartitioned run (145,331 at 0.0354 calls per job, ...13-43-58Z)
 * is 1.2% from the model started here: a job's own work does not depend on how long its handler takes.
 */
export const REFERENCE: Baseline = { instructionsPerJob: 139_385, callsPerJob: 0.0211 };

/** Instructions per job at `callsPerJob`, from a baseline (an unpartitioned run of the same workload). */
export function instructionsPerJob(baseline: Baseline, callsPerJob: number): number {
  return baseline.instructionsPerJob + PER_CALL * (callsPerJob - baseline.callsPerJob);
}

/**
 * What the model said before (docs/ARCHITECTURE.md up to 2026-12-06), per row: processing calls per job from
 * its simulation (jobs 8 round trips long, concurrency 64, every partition backlogged) and Redis CPU per job
 * against the unpartitioned queue, for producers of 1,000 adds in flight.
 */
export const OLD_MODEL: readonly { readonly n: number; readonly k: number; readonly processingCallsPerJob: number; readonly ratio: number }[] = [
  { n: 1, k: 1, processingCallsPerJob: 0.123, ratio: 1 },
  { n: 3, k: 3, processingCallsPerJob: 0.352, ratio: 1.6 },
  { n: 3, k: 2, processingCallsPerJob: 0.243, ratio: 1.31 },
  { n: 10, k: 10, processingCallsPerJob: 0.732, ratio: 2.58 },
  { n: 10, k: 2, processingCallsPerJob: 0.243, ratio: 1.32 },
  { n: 100, k: 100, processingCallsPerJob: 0.897, ratio: 3.08 },
  { n: 100, k: 2, processingCallsPerJob: 0.243, ratio: 1.38 },
];

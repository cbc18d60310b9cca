/**
 * The shape of bench/results/compare-*.json, written by bench/run.ts and read by bench/report.ts.
 */
import type { ContenderId } from './contenders/contender.js';
import type { GitState, Machine, Pinning } from './environment.js';
import type { InteractiveSizes, Measured, ScenarioId, Sizes } from './scenarios.js';

export interface RunRecord {
  readonly scenario: ScenarioId;
  readonly contender: ContenderId;
  /** 1-based. */
  readonly round: number;
  /** 1-minute load average just before the run. */
  readonly loadAverage: number;
  readonly startedAt: string;
  /** What it measured, or why it failed. */
  readonly measured?: Measured;
  readonly error?: string;
  /** Why the scenario does not apply to the library (it lacks a feature): the run was not made. */
  readonly notApplicable?: string;
}

export interface ContenderInfo {
  readonly id: ContenderId;
  readonly label: string;
  readonly version: string;
}

export interface CompareResults {
  readonly benchmark: 'compare';
  readonly date: string;
  readonly finished: string;
  readonly quick: boolean;
  readonly rounds: number;
  /** Files written before issue 13's scenarios existed lack their sizes. */
  readonly sizes: Omit<Sizes, InteractiveSizes> & Partial<Pick<Sizes, InteractiveSizes>>;
  readonly scenarios: readonly ScenarioId[];
  readonly contenders: readonly ContenderInfo[];
  readonly machine: Machine;
  readonly loadAverage: { readonly start: number; readonly end: number; readonly maxBeforeRun: number };
  readonly node: string;
  readonly redis: { readonly version: string };
  readonly git: GitState;
  readonly pinning: Pinning;
  readonly runs: readonly RunRecord[];
}

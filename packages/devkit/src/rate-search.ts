/**
 * The sustained-rate search (issue 26): the highest offered rate at which the soak reconciles every
 * promise within a bound of the load ending, with p99 under a goal and no server error. A rate
 * the consumers cannot keep up with is not throughput, however fast the answers come.
 */
import type { SoakReport } from './soak.js';

export type SustainGoal = {
  /** Each trial's load, in seconds. */
  seconds: number;
  /** The whole operation's p99 (a booking's two requests together) must be under this. */
  p99Ms: number;
  /** Every promise must hold within this long after the load ends. */
  settleSeconds: number;
};

export type Trial = {
  rate: number;
  sustained: boolean;
  /** Why not, in words (empty when sustained). */
  reasons: string[];
  offeredPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** When the last promise came to hold after the load, or null when one never did. */
  settledAfterMs: number | null;
};

/** The offered rate may fall this far short of the asked one (timer jitter) before the load counts as throttled. */
const OFFERED_TOLERANCE = 0.95;

export function judgeTrial(report: SoakReport, rate: number, goal: SustainGoal): Trial {
  const reasons: string[] = [];
  const offeredPerSecond = report.offered / goal.seconds;
  if (offeredPerSecond < rate * OFFERED_TOLERANCE) {
    reasons.push(`only ${offeredPerSecond.toFixed(1)}/s could be offered (every connection was waiting)`);
  }
  const serverErrors = Object.values(report.answers)
    .flatMap((byStatus) => Object.entries(byStatus))
    .filter(([status]) => Number(status) >= 500)
    .reduce((sum, [, n]) => sum + n, 0);
  if (serverErrors > 0) reasons.push(`${serverErrors} answers were server errors`);
  if (report.latencies.p99 >= goal.p99Ms) reasons.push(`p99 ${report.latencies.p99.toFixed(0)} ms ≥ ${goal.p99Ms} ms`);
  const open = report.checks.filter((c) => c.expected !== c.got);
  for (const check of open) reasons.push(`${check.promise}: ${check.got} of ${check.expected}`);
  const settledAfter = report.checks.map((c) => c.settledAfterMs);
  const settledAfterMs = settledAfter.some((ms) => ms === null) ? null : Math.max(0, ...(settledAfter as number[]));
  if (open.length === 0 && (settledAfterMs === null || settledAfterMs > goal.settleSeconds * 1000)) {
    reasons.push(`promises held only ${((settledAfterMs ?? 0) / 1000).toFixed(1)} s after the load`);
  }
  return {
    rate,
    sustained: reasons.length === 0,
    reasons,
    offeredPerSecond,
    p50Ms: report.latencies.p50,
    p99Ms: report.latencies.p99,
    settledAfterMs,
  };
}

/** The highest sustained rate below the lowest rate that was not (a noisy machine can pass a rate above one it failed). */
export function sustainedRate(trials: Trial[]): number | undefined {
  const lowestFailure = Math.min(...trials.filter((t) => !t.sustained).map((t) => t.rate));
  const below = trials.filter((t) => t.sustained && t.rate < lowestFailure).map((t) => t.rate);
  return below.length > 0 ? Math.max(...below) : undefined;
}

/**
 * The rate of the next trial, or undefined when the search is done: double from `start` until a
 * rate is not sustained, halve from it until one is, then bisect until the bracket is within
 * `precision` of the sustained rate (or `max` was sustained).
 */
export function nextRate(trials: Trial[], options: { start: number; precision: number; max?: number }): number | undefined {
  if (trials.length === 0) return options.start;
  const failures = trials.filter((t) => !t.sustained).map((t) => t.rate);
  const lowestFailure = failures.length > 0 ? Math.min(...failures) : undefined;
  const sustained = sustainedRate(trials);
  if (lowestFailure === undefined) {
    if (options.max !== undefined && sustained! >= options.max) return undefined;
    return Math.min(sustained! * 2, options.max ?? Infinity);
  }
  if (sustained === undefined) {
    const half = Math.floor(lowestFailure / 2);
    return half >= 1 ? half : undefined;
  }
  if ((lowestFailure - sustained) / sustained <= options.precision) return undefined;
  const middle = Math.round((sustained + lowestFailure) / 2);
  return middle > sustained && middle < lowestFailure ? middle : undefined;
}

/** The trials as a table, in the order they ran. */
export function trialTable(trials: Trial[]): string {
  const rows = trials.map((t) => [
    t.sustained ? 'sustained' : 'not',
    `${t.rate}/s`,
    `${t.offeredPerSecond.toFixed(1)}/s`,
    `${t.p50Ms.toFixed(0)} ms`,
    `${t.p99Ms.toFixed(0)} ms`,
    t.settledAfterMs === null ? '—' : `${(t.settledAfterMs / 1000).toFixed(1)} s`,
    t.reasons.join('; '),
  ]);
  const header = ['', 'asked', 'offered', 'p50', 'p99', 'settled after', 'why not'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (i >= 1 && i <= 5 ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

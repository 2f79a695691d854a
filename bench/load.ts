/**
 * Load with autocannon: a discarded warm-up, then the measured run. Throughput
 * counts 2xx answers only; anything else is reported next to the figure.
 */
import autocannon, { type Request, type Result } from 'autocannon';

export type LoadSettings = { seconds: number; connections: number; warmupSeconds: number };

export type LoadResult = { rps: number; p50: number; p99: number; ok: number; failed: number; statuses: Record<string, number> };

export type LoadTarget = { url: string; method?: string; headers?: Record<string, string>; body?: string; requests?: Request[] };

export function summarize(result: Result): LoadResult {
  const statuses = Object.fromEntries(Object.entries(result.statusCodeStats).map(([code, s]) => [code, s.count]));
  return {
    rps: result['2xx'] / result.duration,
    p50: result.latency.p50,
    p99: result.latency.p99,
    ok: result['2xx'],
    failed: result.non2xx + result.errors + result.timeouts,
    statuses,
  };
}

/** Runs the warm-up (discarded) and the measurement against one target. */
export async function measure(target: LoadTarget, settings: LoadSettings): Promise<LoadResult> {
  if (settings.warmupSeconds > 0) await autocannon({ ...target, connections: settings.connections, duration: settings.warmupSeconds });
  return summarize(await autocannon({ ...target, connections: settings.connections, duration: settings.seconds }));
}

/** A load that runs until `stop()` (at most `maxSeconds`): for a figure measured while something else happens. */
export function startLoad(target: LoadTarget, connections: number, maxSeconds: number): { stop: () => Promise<LoadResult> } {
  const instance = autocannon({ ...target, connections, duration: maxSeconds });
  const done = Promise.resolve(instance).then(summarize);
  return {
    stop: () => {
      instance.stop();
      return done;
    },
  };
}

/** What went wrong in a load, for the table's note column ("" when every answer was 2xx). */
export function failureNote(result: LoadResult): string {
  if (result.failed === 0) return '';
  const codes = Object.entries(result.statuses)
    .filter(([code]) => !code.startsWith('2'))
    .map(([code, count]) => `${count}×${code}`);
  return `${result.failed} failed${codes.length ? ` (${codes.join(', ')})` : ''}`;
}

/** Latency and failures of a load, for the table's note column. */
export function loadNote(result: LoadResult): string {
  return [`p50 ${result.p50} ms, p99 ${result.p99} ms`, failureNote(result)].filter(Boolean).join('; ');
}

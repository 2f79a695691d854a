import { describe, expect, it } from '@jest/globals';
import { judgeTrial, nextRate, sustainedRate, type Trial } from '../src/rate-search.js';
import type { SoakReport } from '../src/soak.js';

const goal = { seconds: 30, p99Ms: 100, settleSeconds: 30 };

function report(overrides: Partial<SoakReport> = {}): SoakReport {
  return {
    offered: 3_000,
    retries: 0,
    answers: { 'read-patient': { 200: 3_000 } },
    latencies: { p50: 20, p99: 80, max: 120 },
    faults: [],
    checks: [
      { promise: 'audit: an entry per request of patient data', expected: 3_000, got: 3_000, settledAfterMs: 4_000 },
      { promise: 'patient-service: outbox not yet published', expected: 0, got: 0, settledAfterMs: 0 },
    ],
    ok: true,
    ...overrides,
  };
}

const trial = (rate: number, sustained: boolean): Trial => ({
  rate,
  sustained,
  reasons: sustained ? [] : ['why'],
  offeredPerSecond: rate,
  p50Ms: 1,
  p99Ms: 2,
  settledAfterMs: 0,
});

describe('judgeTrial', () => {
  it('sustains a rate that was offered in full, reconciled in time, fast enough and without server errors', () => {
    expect(judgeTrial(report(), 100, goal)).toMatchObject({ sustained: true, reasons: [], offeredPerSecond: 100, settledAfterMs: 4_000 });
  });

  it('does not sustain a rate whose consumers fell behind, however fast the answers', () => {
    const behind = report({
      checks: [{ promise: 'audit: an entry per request of patient data', expected: 3_000, got: 1_480, settledAfterMs: null }],
      ok: false,
    });
    const verdict = judgeTrial(behind, 100, goal);
    expect(verdict.sustained).toBe(false);
    expect(verdict.reasons).toEqual(['audit: an entry per request of patient data: 1480 of 3000']);
    expect(verdict.settledAfterMs).toBeNull();
  });

  it('does not sustain a rate that held only after the bound, that was throttled, slow, or answered 5xx', () => {
    const late = report({ checks: [{ promise: 'analytics: appointments booked', expected: 5, got: 5, settledAfterMs: 31_000 }] });
    expect(judgeTrial(late, 100, goal).reasons).toEqual(['promises held only 31.0 s after the load']);
    expect(judgeTrial(report({ offered: 2_700 }), 100, goal).reasons).toEqual([
      'only 90.0/s could be offered (every connection was waiting)',
    ]);
    expect(judgeTrial(report({ latencies: { p50: 30, p99: 100, max: 400 } }), 100, goal).reasons).toEqual(['p99 100 ms ≥ 100 ms']);
    expect(judgeTrial(report({ answers: { 'read-patient': { 200: 2_998, 503: 2 } } }), 100, goal).reasons).toEqual([
      '2 answers were server errors',
    ]);
  });
});

describe('nextRate', () => {
  const options = { start: 50, precision: 0.1 };

  it('doubles from the start until a rate is not sustained, then bisects to the precision', () => {
    const truth = 230;
    const trials: Trial[] = [];
    for (let rate = nextRate(trials, options); rate !== undefined; rate = nextRate(trials, options)) {
      trials.push(trial(rate, rate <= truth));
    }
    expect(trials.map((t) => t.rate)).toEqual([50, 100, 200, 400, 300, 250, 225, 238]);
    expect(sustainedRate(trials)).toBe(225);
    expect((238 - 225) / 225).toBeLessThanOrEqual(0.1);
  });

  it('halves when even the start is not sustained, and gives up below 1/s', () => {
    expect(nextRate([trial(50, false)], options)).toBe(25);
    expect(nextRate([trial(1, false)], options)).toBeUndefined();
  });

  it('stops at the ceiling it was given', () => {
    expect(nextRate([trial(50, true)], { ...options, max: 80 })).toBe(80);
    expect(nextRate([trial(50, true), trial(80, true)], { ...options, max: 80 })).toBeUndefined();
  });

  it('takes the sustained rate below the lowest failure when a noisy machine passed a higher one', () => {
    expect(sustainedRate([trial(100, true), trial(200, false), trial(300, true)])).toBe(100);
    expect(sustainedRate([trial(100, false)])).toBeUndefined();
  });
});

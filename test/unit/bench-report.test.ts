/** The bench's pure helpers: percentiles, the slot plan that keeps bookings apart, the table and the comparison. */
import { slotStart, SlotPlanner } from '../../bench/bookings.js';
import { comparisonTable, figuresTable, formatNumber, markdownTable, ratio, type BenchRecord, type Figure } from '../../bench/report.js';
import { percentile } from '../../bench/stats.js';

describe('percentile (nearest rank)', () => {
  const samples = Array.from({ length: 100 }, (_, i) => 100 - i); // 100..1, unsorted
  it('picks the sample at the rank, whatever the order', () => {
    expect(percentile(samples, 50)).toBe(50);
    expect(percentile(samples, 99)).toBe(99);
    expect(percentile(samples, 100)).toBe(100);
    expect(percentile([7], 99)).toBe(7);
  });
  it('is NaN for no samples', () => expect(percentile([], 50)).toBeNaN());
});

describe('slot plan', () => {
  const firstDay = new Date('2026-12-01T00:00:00Z');
  it('walks a 30-minute grid from 00:00 to 23:00 and goes on the next day', () => {
    expect(slotStart(firstDay, 0).toISOString()).toBe('2026-12-01T00:00:00.000Z');
    expect(slotStart(firstDay, 46).toISOString()).toBe('2026-12-01T23:00:00.000Z');
    expect(slotStart(firstDay, 47).toISOString()).toBe('2026-12-02T00:00:00.000Z');
  });
  it('never gives a doctor or a patient two bookings at the same time', () => {
    const planner = new SlotPlanner(
      Array.from({ length: 5 }, (_, i) => ({ doctorId: `d${i}`, patientId: `p${i}` })),
      firstDay,
    );
    const bookings = Array.from({ length: 1_000 }, () => planner.next());
    const byDoctor = new Set(bookings.map((b) => `${b.doctorId} ${b.start}`));
    const byPatient = new Set(bookings.map((b) => `${b.patientId} ${b.start}`));
    expect(byDoctor.size).toBe(1_000);
    expect(byPatient.size).toBe(1_000);
  });
});

const figure = (id: string, value: number | null, reference?: number): Figure => ({
  id,
  label: id,
  value,
  unit: 'req/s',
  reference: reference === undefined ? undefined : { label: 'floor', value: reference },
});

describe('table', () => {
  it('ratio is figure / reference, none without a reference or a value', () => {
    expect(ratio(figure('a', 300, 1_200))).toBe(0.25);
    expect(ratio(figure('a', 300))).toBeUndefined();
    expect(ratio(figure('a', null, 10))).toBeUndefined();
  });
  it('formats numbers by size and marks what was not measured', () => {
    expect(formatNumber(1234.6)).toBe('1,235');
    expect(formatNumber(12.34)).toBe('12.3');
    expect(formatNumber(1.234)).toBe('1.23');
    expect(formatNumber(null)).toBe('–');
  });
  it('pads every column to its widest cell', () => {
    const lines = markdownTable(['A', 'B'], [['long cell', 'x']]).split('\n');
    expect(lines).toEqual(['| A         | B |', '| --------- | - |', '| long cell | x |']);
  });
  it('shows value, reference and ratio of each figure', () => {
    const table = figuresTable([figure('gateway read', 300, 1_200), figure('skipped', null)]);
    expect(table).toContain('| gateway read | 300   | req/s | floor: 1,200');
    expect(table).toContain('0.25×');
    expect(table).toMatch(/\| skipped +\| – +\|/);
  });
});

describe('comparison', () => {
  const record = (commit: string, figures: Figure[]): BenchRecord => ({
    commit,
    startedAt: '2026-11-30T02:30:00.000Z',
    machine: { cores: 2, model: 'x', memoryMiB: 1, loadAverage: { atStart: [0, 0, 0], atEnd: [0, 0, 0] } },
    settings: {},
    figures,
  });
  it('gives now / earlier for figures of both runs, nothing for new ones', () => {
    const table = comparisonTable(record('aaa', [figure('read', 300)]), record('bbb', [figure('read', 900), figure('new', 5)]));
    expect(table).toMatch(/\| read +\| 300 +\| 900 +\| req\/s \| 3\.00× +\|/);
    expect(table).toMatch(/\| new +\| – +\| 5\.00 +\| req\/s \| +\|/);
  });
});

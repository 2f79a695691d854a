/**
 * The bench's one table, its JSON record and the comparison with an earlier
 * record. Pure functions (unit-tested in test/unit/bench-report.test.ts) plus
 * the file writing.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** One measured figure; `reference` is its floor, peer or goal, measured in the same run where it can be. */
export type Figure = {
  /** Stable key: --compare matches figures of two runs by it. */
  id: string;
  label: string;
  /** null: not measured in this run (the note says why). */
  value: number | null;
  unit: string;
  reference?: { label: string; value: number };
  note?: string;
};

export type BenchRecord = {
  commit: string;
  startedAt: string;
  machine: { cores: number; model: string; memoryMiB: number; loadAverage: { atStart: number[]; atEnd: number[] } };
  settings: Record<string, unknown>;
  figures: Figure[];
};

/** figure / reference: how far a figure is from its floor or goal (1.00 = there). */
export function ratio(figure: Figure): number | undefined {
  if (figure.value === null || !figure.reference || figure.reference.value === 0) return undefined;
  return figure.value / figure.reference.value;
}

export function formatNumber(value: number | null | undefined): string {
  if (value === null || value === undefined || Number.isNaN(value)) return '–';
  const abs = Math.abs(value);
  const digits = abs >= 100 ? 0 : abs >= 10 ? 1 : 2;
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

const formatRatio = (value: number | undefined) => (value === undefined ? '' : `${value.toFixed(2)}×`);

/** A Markdown table (readable as plain text too), columns padded to their widest cell, as prettier writes it. */
export function markdownTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

export function figuresTable(figures: Figure[]): string {
  return markdownTable(
    ['Figure', 'Value', 'Unit', 'Floor / peer / goal', 'Ratio', 'Note'],
    figures.map((f) => [
      f.label,
      formatNumber(f.value),
      f.unit,
      f.reference ? `${f.reference.label}: ${formatNumber(f.reference.value)}` : '',
      formatRatio(ratio(f)),
      f.note ?? '',
    ]),
  );
}

/** Each figure of `now` next to the same figure of an earlier run, with now / earlier. */
export function comparisonTable(earlier: BenchRecord, now: BenchRecord): string {
  const before = new Map(earlier.figures.map((f) => [f.id, f]));
  const rows = now.figures.map((f) => {
    const old = before.get(f.id);
    const change = old?.value && f.value !== null ? f.value / old.value : undefined;
    return [f.label, formatNumber(old?.value), formatNumber(f.value), f.unit, formatRatio(change)];
  });
  return markdownTable(['Figure', `${earlier.commit} (earlier)`, `${now.commit} (now)`, 'Unit', 'Now / earlier'], rows);
}

/** bench/results/<ISO time>-<short commit>.json (the folder is git-ignored). */
export function writeRecord(record: BenchRecord, dir: string): string {
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${record.startedAt.replace(/:/g, '-')}-${record.commit}.json`);
  writeFileSync(file, `${JSON.stringify(record, null, 2)}\n`);
  return file;
}

export const readRecord = (file: string): BenchRecord => JSON.parse(readFileSync(file, 'utf8')) as BenchRecord;

/**
 * npm run bench — CareGrid's benchmark suite (issue 14): every figure against
 * its floor or goal, measured in one run on this machine, printed as one table
 * and written as JSON to bench/results/. A benchmark, not a test: it never fails
 * on a figure (only when it cannot measure at all).
 *
 *   npm run bench                       own stack, 32 connections × 10 s per load
 *   npm run bench -- --quick            ~3 s per load, 100,000 cleanup rows, 10 event samples
 *   npm run bench -- --gateway http://127.0.0.1:4004 --admin-email … --admin-password …
 *   npm run bench -- --compare bench/results/<earlier>.json
 */
import { execFileSync } from 'node:child_process';
import { cpus, loadavg, totalmem } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { repoRoot } from '@caregrid/devkit';
import { measureBookings, prepareBookings, type Bookings } from './bookings.js';
import { measureCleanup } from './cleanup.js';
import { measureEvents } from './events.js';
import { measureFloors, type Floors } from './floors.js';
import { measureGateway } from './gateway.js';
import type { LoadSettings } from './load.js';
import { measurePdf } from './pdf.js';
import { comparisonTable, figuresTable, readRecord, writeRecord, type BenchRecord, type Figure } from './report.js';
import { memoryFigures, settle, startupFigures } from './resources.js';
import { ownSystem, runningSystem, type System } from './system.js';

const { values: flags } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    seconds: { type: 'string' },
    connections: { type: 'string' },
    'cleanup-rows': { type: 'string' },
    'event-samples': { type: 'string' },
    gateway: { type: 'string' },
    'admin-email': { type: 'string', default: process.env.BENCH_ADMIN_EMAIL },
    'admin-password': { type: 'string', default: process.env.BENCH_ADMIN_PASSWORD },
    compare: { type: 'string' },
  },
});

const quick = flags.quick!;
const load: LoadSettings = {
  seconds: Number(flags.seconds ?? (quick ? 3 : 10)),
  connections: Number(flags.connections ?? 32),
  warmupSeconds: quick ? 1 : 2,
};
const settings = {
  ...load,
  quick,
  cleanupRows: Number(flags['cleanup-rows'] ?? (quick ? 100_000 : 1_000_000)),
  eventSamples: Number(flags['event-samples'] ?? (quick ? 10 : 30)),
  pdfSeconds: quick ? 1 : 2,
  gateway: flags.gateway ?? 'own stack',
};

const began = Date.now();
// Other work on the same cores skews every figure: the record says how busy the machine was.
const loadAtStart = loadavg();
const progress = (line: string) => console.error(`[bench +${((Date.now() - began) / 1000).toFixed(0).padStart(4)} s] ${line}`);
const figures: Figure[] = [];

/** A phase that fails leaves a line saying so in the table; the others still run. */
async function phase(id: string, label: string, measure: () => Promise<Figure[]>): Promise<void> {
  try {
    figures.push(...(await measure()));
  } catch (error) {
    progress(`${label} FAILED: ${(error as Error).message}`);
    figures.push({ id, label, value: null, unit: '', note: `failed: ${(error as Error).message}` });
  }
}

/** Before a phase on the stack: a fresh admin token, and a quiet stack. */
async function ready(system: System): Promise<void> {
  await system.renew();
  const waited = await settle(system);
  progress(`stack quiet after ${(waited / 1000).toFixed(1)} s`);
}

progress(`settings: ${JSON.stringify(settings)}`);
let floors: Floors | undefined;
await phase('floors', 'floors', async () => {
  const measured = await measureFloors(load, progress);
  floors = measured.floors;
  return measured.figures;
});
await phase('pdf', 'invoice PDFs', () => measurePdf(settings.pdfSeconds, progress));

progress(flags.gateway ? `using the running gateway at ${flags.gateway}` : 'starting a stack of every service with its daprd');
let system: System;
if (flags.gateway) {
  if (!flags['admin-email'] || !flags['admin-password'])
    throw new Error('--gateway needs --admin-email and --admin-password (or BENCH_ADMIN_EMAIL / BENCH_ADMIN_PASSWORD)');
  system = await runningSystem(flags.gateway, flags['admin-email'], flags['admin-password']);
  progress('with --gateway: no service called directly, no cleanup (needs the database), no memory or start-up figures');
} else {
  system = await ownSystem();
}
try {
  figures.push(...startupFigures(system), ...memoryFigures(system, 'idle'));
  let bookings: Bookings | undefined;
  await phase('bookings.prepare', 'preparing doctors and patients', async () => {
    progress(`bookings: creating ${load.connections} doctors and patients`);
    bookings = await prepareBookings(system, load.connections);
    return [];
  });
  await ready(system);
  await phase('events', 'event latency', () => measureEvents(system, bookings!, settings.eventSamples, progress));
  await ready(system);
  await phase('gateway', 'gateway', () => measureGateway(system, floors, load, progress, () => ready(system)));
  await ready(system);
  await phase('bookings', 'bookings', () => measureBookings(system, bookings!, load, progress, () => ready(system)));
  figures.push(...memoryFigures(system, 'after load'));
  await ready(system);
  await phase('cleanup', 'cleanup', () =>
    measureCleanup(system, bookings!, { rows: settings.cleanupRows, connections: load.connections }, progress),
  );
} finally {
  progress('stopping');
  await system.stop();
}

const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: repoRoot, encoding: 'utf8' }).trim();
const dirty = execFileSync('git', ['status', '--porcelain'], { cwd: repoRoot, encoding: 'utf8' }).trim() !== '';
const record: BenchRecord = {
  commit: dirty ? `${commit}-dirty` : commit,
  startedAt: new Date(began).toISOString(),
  machine: {
    cores: cpus().length,
    model: cpus()[0]?.model ?? 'unknown',
    memoryMiB: Math.round(totalmem() / 1024 / 1024),
    loadAverage: { atStart: loadAtStart, atEnd: loadavg() },
  },
  settings,
  figures,
};
const file = writeRecord(record, path.join(repoRoot, 'bench', 'results'));
console.log(
  `\nCareGrid bench, ${record.commit}, ${record.machine.cores} × ${record.machine.model}, ${load.connections} connections × ${load.seconds} s per load, ${settings.gateway}; load average ${loadAtStart[0]!.toFixed(2)} at the start, ${record.machine.loadAverage.atEnd[0]!.toFixed(2)} at the end\n`,
);
console.log(figuresTable(figures));
console.log(`\nRatio = figure / floor (or goal). JSON: ${path.relative(process.cwd(), file)}`);
if (flags.compare) {
  console.log(`\nCompared with ${flags.compare}:\n`);
  console.log(comparisonTable(readRecord(flags.compare), record));
}

// Done: whatever a phase left open (keep-alive sockets, a pool) must not keep the bench alive.
process.exit(0);

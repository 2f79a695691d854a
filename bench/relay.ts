/**
 * The outbox relay, one event at a time against bulk (issue 26): the same claim of events relayed
 * through a real daprd to the tests' Kafka, both ways in interleaved rounds, from a PostgreSQL
 * outbox. Figures: events relayed per second, and CPU per 1,000 events of the relay's process and
 * of its daprd; bulk as a ratio to one at a time in the same run.
 *
 *   node --import tsx bench/relay.ts   (BENCH_EVENTS 2000, BENCH_SUBJECTS 200, BENCH_ROUNDS 3)
 */
import { execFileSync } from 'node:child_process';
import { loadavg } from 'node:os';
import express from 'express';
import { pino } from 'pino';
import { OutboxRelay, uuidv7, type EventPublisher } from '@caregrid/platform';
import { postgresDatabase } from '@caregrid/platform/postgres';
import { freshDatabase, startAppWithSidecar, uniqueName } from '@caregrid/devkit';
import { cpuMs } from './cpu-time.js';

const events = Number(process.env.BENCH_EVENTS ?? 2_000);
const subjects = Number(process.env.BENCH_SUBJECTS ?? 200);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const logger = pino({ level: 'silent' });
const say = (line: string) => console.error(`[relay-bench] ${line}`);

const database = await freshDatabase('postgres', 'relaybench');
const opened = await postgresDatabase([])(database.url, logger);
const app = await startAppWithSidecar({ label: 'relay-bench', createApp: () => express() });
const daprdPid = Number(
  execFileSync('pgrep', ['-f', '--', `--app-id ${app.appId}`], { encoding: 'utf8' })
    .trim()
    .split('\n')[0],
);
const oneByOne: EventPublisher = { publish: (event) => app.sidecar.publish(event) };
const modes = { 'one at a time': oneByOne, bulk: app.sidecar } as const;
const results: Record<string, { perSecond: number[]; appCpu: number[]; daprdCpu: number[] }> = {};

try {
  say(`${events} events over ${subjects} subjects, ${rounds} rounds each way, load average ${loadavg()[0]!.toFixed(2)}`);
  for (let round = 1; round <= rounds; round++) {
    for (const [mode, publisher] of Object.entries(modes)) {
      const topic = uniqueName('relay-bench');
      const rows = Array.from({ length: events }, (_, i) => ({
        id: uuidv7(),
        topic,
        type: 'caregrid.bench.happened.v1',
        subject: `s-${i % subjects}`,
        data: { n: i, text: 'an audit entry is about this size: who, what, which patients, when, the outcome' },
      }));
      for (let i = 0; i < rows.length; i += 500) await opened.outbox.appendMany(rows.slice(i, i + 500));
      const relay = new OutboxRelay(opened.outbox, publisher, logger, { relayId: `${mode}-${round}` });
      const cpuBefore = process.cpuUsage();
      const daprdBefore = cpuMs(daprdPid);
      const started = performance.now();
      const drained = await relay.drain();
      const seconds = (performance.now() - started) / 1000;
      if (drained.published !== events) throw new Error(`${mode}: published ${drained.published} of ${events}`);
      const cpu = process.cpuUsage(cpuBefore);
      const r = (results[mode] ??= { perSecond: [], appCpu: [], daprdCpu: [] });
      r.perSecond.push(events / seconds);
      r.appCpu.push(((cpu.user + cpu.system) / 1000 / events) * 1000);
      r.daprdCpu.push(((cpuMs(daprdPid) - daprdBefore) / events) * 1000);
      say(`round ${round}, ${mode}: ${(events / seconds).toFixed(0)} events/s`);
    }
  }
} finally {
  await app.stop();
  await opened.close();
  await database.drop();
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const floor = median(results['one at a time']!.perSecond);
console.log('mode            events/s  ratio  relay CPU ms/1000  daprd CPU ms/1000');
for (const [mode, r] of Object.entries(results)) {
  const perSecond = median(r.perSecond);
  console.log(
    `${mode.padEnd(14)}  ${perSecond.toFixed(0).padStart(8)}  ${(perSecond / floor).toFixed(2).padStart(5)}  ${median(r.appCpu).toFixed(0).padStart(17)}  ${median(r.daprdCpu).toFixed(0).padStart(17)}`,
  );
}
process.exit(0);

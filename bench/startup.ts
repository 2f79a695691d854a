/**
 * `npm run bench:startup`: start-to-ready and idle resident memory of every app, without the loads
 * of `npm run bench` (a minute instead of ten, so a change to the start path can be measured
 * before and after in the same minute). Starts the bench's stack (all seven apps with their daprd,
 * as startTestStack runs them), waits until it is quiet, prints one line per app and the load average.
 *
 *   --rounds N   start and stop the stack N times (default 1); figures of every round
 */
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { residentMiB, settle } from './resources.js';
import { ALL_APPS, ownSystem } from './system.js';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '1' } } });

for (let round = 1; round <= Number(values.rounds); round++) {
  const load = loadavg().map((l) => l.toFixed(2));
  const system = await ownSystem();
  try {
    await settle(system);
    const stack = system.stack!;
    let total = 0;
    console.log(`round ${round}: stack routed after ${(system.startupMs! / 1000).toFixed(2)} s; load average before ${load.join(' ')}`);
    for (const appId of ALL_APPS) {
      const { timings, process } = stack.member(appId);
      const rss = residentMiB(process.child.pid) ?? 0;
      total += rss;
      const ready = timings.appReadyAt === undefined ? 'n/a' : `${((timings.appReadyAt - timings.appStartedAt) / 1000).toFixed(2)} s`;
      console.log(`  ${appId.padEnd(20)} start→ready ${ready.padStart(7)}   RSS idle ${rss.toFixed(1).padStart(6)} MiB`);
    }
    console.log(`  ${'all apps'.padEnd(20)} ${''.padStart(19)}   RSS idle ${total.toFixed(1).padStart(6)} MiB`);
  } finally {
    await system.stop();
  }
}

/**
 * `npm run bench:startup`: start-to-ready and idle resident memory of every app, without the loads
 * of `npm run bench` (a minute instead of ten, so a change to the start path can be measured
 * before and after in the same minute). Starts the bench's stack (all seven apps with their daprd,
 * as startTestStack runs them), waits until it is quiet, prints one line per app and the load average:
 * start→ready with all fourteen processes starting at once on the machine's cores, RSS idle, and
 * start→ready of the app alone (restarted with its sidecar up and the rest of the stack idle).
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
    const seconds = (t: { appStartedAt: number; appReadyAt?: number }) =>
      t.appReadyAt === undefined ? 'n/a' : `${((t.appReadyAt - t.appStartedAt) / 1000).toFixed(2)} s`;
    for (const appId of ALL_APPS) {
      const member = stack.member(appId);
      const rss = residentMiB(member.process.child.pid) ?? 0;
      total += rss;
      const together = seconds(member.timings);
      await member.restartApp();
      console.log(
        `  ${appId.padEnd(20)} start→ready ${together.padStart(7)} (all at once), ${seconds(member.timings).padStart(7)} (alone)   RSS idle ${rss.toFixed(1).padStart(6)} MiB`,
      );
    }
    console.log(`  ${'all apps'.padEnd(20)} ${''.padStart(49)}   RSS idle ${total.toFixed(1).padStart(6)} MiB`);
  } finally {
    await system.stop();
  }
}

/**
 * `npm run bench:startup`: start-to-ready and idle resident memory of every app, without the loads
 * of `npm run bench` (a minute instead of ten, so a change to the start path can be measured
 * before and after in the same minute). Starts the bench's stack (all seven apps with their daprd,
 * as startTestStack runs them), waits until it is quiet, prints one line per app and the load average:
 * start→ready with all fourteen processes starting at once on the machine's cores, RSS idle, and
 * start→ready of the app alone (restarted with its sidecar up and the rest of the stack idle).
 *
 *   --rounds N             start and stop the stack N times (default 1); figures of every round
 *   --load S               then S seconds of patient-service's own GET /patients/{id} (32 connections, its
 *                          app token, as bench/gateway.ts): req/s, p99 and its RSS after, to weigh a memory
 *                          setting against throughput
 *   --node-options FLAGS   NODE_OPTIONS of the apps (e.g. V8 heap flags), not of this process
 */
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { stackSigningKey, viaGatewayAs } from '@caregrid/devkit';
import { newPatient } from './gateway.js';
import { measure } from './load.js';
import { cpuSeconds, residentMiB, settle } from './resources.js';
import { ALL_APPS, ownSystem } from './system.js';

const { values } = parseArgs({
  options: { rounds: { type: 'string', default: '1' }, load: { type: 'string' }, 'node-options': { type: 'string' } },
});
// The stack hands this process's environment to the apps (not to daprd, which ignores it anyway).
if (values['node-options'] !== undefined) process.env.NODE_OPTIONS = values['node-options'];

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
    if (values.load) {
      const created = await system.api('POST', '/api/patients', newPatient());
      const member = stack.member('patient-service');
      const headers = { ...viaGatewayAs({ roles: ['admin'] }, stackSigningKey(stack.secrets())), 'dapr-api-token': member.appApiToken! };
      const url = `${stack.url('patient-service')}/patients/${(created.body as { id: string }).id}`;
      await measure({ url, headers }, { seconds: 2, connections: 32, warmupSeconds: 0 });
      // CPU time per answer as well: req/s swings with the machine's load, the service's own cost less so.
      const cpuBefore = cpuSeconds(member.process.child.pid);
      const result = await measure({ url, headers }, { seconds: Number(values.load), connections: 32, warmupSeconds: 0 });
      const cpuMsPerRequest = ((cpuSeconds(member.process.child.pid) - cpuBefore) * 1000) / (result.ok + result.failed);
      const rss = residentMiB(member.process.child.pid) ?? 0;
      console.log(
        `  patient-service GET /patients/{id} direct: ${result.rps.toFixed(0)} req/s, p99 ${result.p99} ms, ${result.failed} failed, ${cpuMsPerRequest.toFixed(3)} ms CPU each; RSS after ${rss.toFixed(1)} MiB`,
      );
    }
  } finally {
    await system.stop();
  }
}

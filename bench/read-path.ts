/**
 * patient-service's own read path, alone: a stack of patient-service with its
 * sidecar, one patient, then `GET /patients/{id}` called on the app's port with
 * its app API token (as bench/gateway.ts does), for before → after figures of a
 * change to the service's per-request cost without the whole bench.
 * BENCH_CPU_PROF=<dir>: the app's CPU profile of the last round (bench/cpu-profile.mjs), to open in
 * Chrome DevTools or summarize with bench/profile-top.ts.
 *
 *   node --import tsx bench/read-path.ts        (BENCH_SECONDS, BENCH_CONNECTIONS, BENCH_ROUNDS)
 */
import { loadavg } from 'node:os';
import path from 'node:path';
import { stackSigningKey, startTestStack, viaGatewayAs } from '@caregrid/devkit';
import { cpuMs } from './cpu-time.js';
import { measure } from './load.js';
import { newPatient } from './gateway.js';

const seconds = Number(process.env.BENCH_SECONDS ?? 5);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 32);
const rounds = Number(process.env.BENCH_ROUNDS ?? 2);
const profileDir = process.env.BENCH_CPU_PROF;

const stack = await startTestStack({
  // auth-service: patient-service verifies the callers' tokens against its key set.
  apps: ['auth-service', 'patient-service'],
  env: profileDir
    ? {
        'patient-service': { NODE_OPTIONS: `--import ${path.resolve('bench/cpu-profile.mjs')}`, CPU_PROFILE_DIR: path.resolve(profileDir) },
      }
    : {},
});
try {
  const base = stack.url('patient-service');
  const headers = {
    ...viaGatewayAs({ roles: ['admin'] }, stackSigningKey(stack.secrets())),
    'dapr-api-token': stack.member('patient-service').appApiToken!,
  };
  const created = await fetch(`${base}/patients`, {
    method: 'POST',
    headers: { ...headers, 'content-type': 'application/json' },
    body: JSON.stringify(newPatient()),
  });
  if (created.status !== 201) throw new Error(`POST /patients answered ${created.status}: ${await created.text()}`);
  const { id } = (await created.json()) as { id: string };
  const results: number[] = [];
  const costs: number[] = [];
  const pid = stack.member('patient-service').process.child.pid!;
  for (let round = 0; round < rounds; round++) {
    // The profile written at the start of the last round is discarded (start-up, warm-up); the one at its end is the round's.
    if (profileDir && round === rounds - 1) process.kill(pid, 'SIGUSR2');
    if (round === 0) await measure({ url: `${base}/patients/${id}`, headers }, { seconds: 2, connections, warmupSeconds: 0 });
    const cpuBefore = cpuMs(pid);
    const result = await measure({ url: `${base}/patients/${id}`, headers }, { seconds, connections, warmupSeconds: 0 });
    costs.push((cpuMs(pid) - cpuBefore) / (result.ok + result.failed));
    if (result.failed) throw new Error(`${result.failed} failed: ${JSON.stringify(result.statuses)}`);
    results.push(result.rps);
    if (profileDir && round === rounds - 1) process.kill(pid, 'SIGUSR2');
    console.log(
      `round ${round + 1}: ${result.rps.toFixed(0)} req/s, p50 ${result.p50} ms, p99 ${result.p99} ms, app CPU ${costs.at(-1)!.toFixed(3)} ms per request`,
    );
  }
  console.log(
    `patient-service GET /patients/{id} direct: ${(results.reduce((a, b) => a + b, 0) / results.length).toFixed(0)} req/s, ` +
      `app CPU ${Math.min(...costs).toFixed(3)}–${Math.max(...costs).toFixed(3)} ms per request ` +
      `(${connections} connections; load average ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')})`,
  );
} finally {
  await stack.stop();
}

/**
 * The gateway's read path, alone: a stack of gateway, auth-service and
 * patient-service (each with its daprd), one patient, then
 * `GET /api/patients/{id}` as the bootstrap admin through the gateway. Prints
 * throughput and the CPU time per request of every process on the path (from
 * /proc), for before → after figures of a change without the whole bench.
 * BENCH_CPU_PROF=<dir>: the gateway app's CPU profile of the last round (bench/cpu-profile.mjs).
 *
 *   node --import tsx bench/gateway-path.ts        (BENCH_SECONDS, BENCH_CONNECTIONS, BENCH_ROUNDS)
 */
import { loadavg } from 'node:os';
import path from 'node:path';
import { startTestStack } from '@caregrid/devkit';
import { cpuMs, stackProcesses } from './cpu-time.js';
import { newPatient } from './gateway.js';
import { measure } from './load.js';
import { signIn } from './system.js';

const seconds = Number(process.env.BENCH_SECONDS ?? 5);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 32);
const rounds = Number(process.env.BENCH_ROUNDS ?? 2);
const profileDir = process.env.BENCH_CPU_PROF;

const stack = await startTestStack({
  apps: ['gateway', 'auth-service', 'patient-service'],
  env: {
    gateway: {
      RATE_LIMIT_PER_MINUTE: String(1_000_000_000),
      ...(profileDir
        ? { NODE_OPTIONS: `--import ${path.resolve('bench/cpu-profile.mjs')}`, CPU_PROFILE_DIR: path.resolve(profileDir) }
        : {}),
    },
  },
});
try {
  const secret = stack.secrets()['auth-service']!;
  const system = await signIn(stack.url('gateway'), secret.bootstrapAdminEmail!, secret.bootstrapAdminPassword!);
  const created = await system.api('POST', '/api/patients', newPatient());
  if (created.status !== 201) throw new Error(`POST /api/patients answered ${created.status}: ${JSON.stringify(created.body)}`);
  const url = `${system.gateway}/api/patients/${(created.body as { id: string }).id}`;
  const processes = stackProcesses(stack, ['gateway', 'patient-service', 'auth-service']);
  const gatewayPid = processes['gateway app']!;
  const totals: Record<string, number[]> = {};
  const throughput: number[] = [];
  await measure({ url, headers: system.admin }, { seconds: 2, connections, warmupSeconds: 0 });
  for (let round = 0; round < rounds; round++) {
    if (profileDir && round === rounds - 1) process.kill(gatewayPid, 'SIGUSR2');
    const before = Object.fromEntries(Object.entries(processes).map(([name, pid]) => [name, cpuMs(pid)]));
    const result = await measure({ url, headers: system.admin }, { seconds, connections, warmupSeconds: 0 });
    if (result.failed) throw new Error(`${result.failed} failed: ${JSON.stringify(result.statuses)}`);
    for (const [name, pid] of Object.entries(processes)) (totals[name] ??= []).push((cpuMs(pid) - before[name]!) / result.ok);
    if (profileDir && round === rounds - 1) process.kill(gatewayPid, 'SIGUSR2');
    throughput.push(result.rps);
    console.log(`round ${round + 1}: ${result.rps.toFixed(0)} req/s, p50 ${result.p50} ms, p99 ${result.p99} ms`);
  }
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  console.log(
    `gateway GET /api/patients/{id}: ${mean(throughput).toFixed(0)} req/s (${connections} connections; load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')})`,
  );
  for (const [name, values] of Object.entries(totals)) console.log(`  ${name.padEnd(24)} ${mean(values).toFixed(3)} ms CPU per request`);
} finally {
  await stack.stop();
}

/**
 * The booking path, alone: a stack of every service (each with its daprd), `POST /api/appointments`
 * through the gateway as bench/bookings.ts loads it (pairs of one doctor and one patient, no two
 * bookings colliding). Prints throughput, latency and the CPU time per booking of every process
 * (apps, sidecars, the local servers from /proc, the load generator itself), and what PostgreSQL's
 * backends are doing meanwhile (pg_stat_activity sampled every 50 ms): where a booking waits.
 * BENCH_CPU_PROF=<dir>: the CPU profile of the last round of BENCH_PROFILE_APP (default appointment-service;
 * bench/cpu-profile.mjs; read it with bench/profile-top.ts).
 *
 *   node --import tsx bench/booking-path.ts        (BENCH_SECONDS, BENCH_CONNECTIONS, BENCH_ROUNDS)
 */
import { loadavg } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { localInfra, startTestStack } from '@caregrid/devkit';
import { prepareBookings } from './bookings.js';
import { cpuMs, groupCpuMs, serverProcesses, stackProcesses } from './cpu-time.js';
import { measure } from './load.js';
import { ALL_APPS, BENCH_BOOKING_LIMITS, signIn } from './system.js';

const seconds = Number(process.env.BENCH_SECONDS ?? 10);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 32);
const rounds = Number(process.env.BENCH_ROUNDS ?? 2);
const profileDir = process.env.BENCH_CPU_PROF;
const profiled = process.env.BENCH_PROFILE_APP ?? 'appointment-service';

/** Samples pg_stat_activity: mean number of client backends per database and state / wait event. */
function sampleBackends(admin: pg.Client) {
  const counts = new Map<string, number>();
  let samples = 0;
  let running = true;
  const done = (async () => {
    while (running) {
      const { rows } = await admin.query<{ key: string; n: string }>(
        `SELECT coalesce(datname, '-') || '  ' || coalesce(state, '-') || coalesce('  waiting ' || wait_event_type || ':' || wait_event, '') AS key,
                count(*) AS n
           FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid() GROUP BY 1`,
      );
      samples++;
      for (const row of rows) counts.set(row.key, (counts.get(row.key) ?? 0) + Number(row.n));
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  })();
  return async () => {
    running = false;
    await done;
    return [...counts].map(([key, n]) => [key, n / samples] as const).sort((a, b) => b[1] - a[1]);
  };
}

/** Commits + rollbacks and rows inserted so far, per database (the stack's are the ones that move). */
async function databaseCounters(admin: pg.Client): Promise<Map<string, [number, number]>> {
  const { rows } = await admin.query<{ datname: string; xacts: string; inserted: string }>(
    'SELECT datname, xact_commit + xact_rollback AS xacts, tup_inserted AS inserted FROM pg_stat_database WHERE datname IS NOT NULL',
  );
  return new Map(rows.map((r) => [r.datname, [Number(r.xacts), Number(r.inserted)]]));
}

const stack = await startTestStack({
  apps: ALL_APPS,
  env: {
    gateway: { RATE_LIMIT_PER_MINUTE: String(1_000_000_000) },
    'appointment-service': BENCH_BOOKING_LIMITS,
    ...(profileDir
      ? {
          [profiled]: {
            NODE_OPTIONS: `--import ${path.resolve('bench/cpu-profile.mjs')}`,
            CPU_PROFILE_DIR: path.resolve(profileDir),
          },
        }
      : {}),
  },
});
const admin = new pg.Client({ ...localInfra().postgres.admin, database: 'postgres' });
await admin.connect();
try {
  const secret = stack.secrets()['auth-service']!;
  const system = await signIn(stack.url('gateway'), secret.bootstrapAdminEmail!, secret.bootstrapAdminPassword!);
  const bookings = await prepareBookings(Object.assign(system, { stop: () => stack.stop() }), connections);
  const processes = stackProcesses(stack, ALL_APPS);
  const profiledPid = processes[`${profiled} app`]!;
  const totals: Record<string, number[]> = {};
  const throughput: number[] = [];
  await measure(bookings.target(), { seconds: 2, connections, warmupSeconds: 0 });
  for (let round = 0; round < rounds; round++) {
    const last = round === rounds - 1;
    if (profileDir && last) process.kill(profiledPid, 'SIGUSR2');
    const servers = serverProcesses();
    const before = {
      ...Object.fromEntries(Object.entries(processes).map(([name, pid]) => [name, cpuMs(pid)])),
      ...Object.fromEntries(Object.entries(servers).map(([name, pids]) => [name, groupCpuMs(pids)])),
    };
    const loadBefore = process.cpuUsage();
    const counters = last ? await databaseCounters(admin) : undefined;
    const backends = last ? sampleBackends(admin) : undefined;
    const result = await measure(bookings.target(), { seconds, connections, warmupSeconds: 0 });
    const waits = await backends?.();
    const load = process.cpuUsage(loadBefore);
    if (result.failed) throw new Error(`${result.failed} failed: ${JSON.stringify(result.statuses)}`);
    const after = serverProcesses();
    const perBooking = (ms: number) => ms / result.ok;
    for (const [name, pid] of Object.entries(processes)) (totals[name] ??= []).push(perBooking(cpuMs(pid) - before[name]!));
    for (const [name, pids] of Object.entries(after)) {
      // Backends started during the round count from 0; those that ended lose their time.
      const old = new Set(servers[name] ?? []);
      const now = groupCpuMs(pids.filter((pid) => old.has(pid))) + groupCpuMs(pids.filter((pid) => !old.has(pid)));
      (totals[name] ??= []).push(perBooking(now - (before[name] ?? 0)));
    }
    (totals['load generator (this process)'] ??= []).push(perBooking((load.user + load.system) / 1000));
    if (profileDir && last) process.kill(profiledPid, 'SIGUSR2');
    throughput.push(result.rps);
    console.log(`round ${round + 1}: ${result.rps.toFixed(0)} bookings/s, p50 ${result.p50} ms, p99 ${result.p99} ms`);
    if (counters) {
      console.log('PostgreSQL per booking in the last round (transactions, rows inserted), sampler excluded:');
      for (const [name, [xacts, inserted]] of await databaseCounters(admin)) {
        const [xacts0, inserted0] = counters.get(name) ?? [0, 0];
        // The sampler's own statements run in "postgres", one transaction each.
        if (name !== 'postgres' && xacts > xacts0) {
          console.log(
            `  ${name.padEnd(36)} ${perBooking(xacts - xacts0).toFixed(2)} transactions, ${perBooking(inserted - inserted0).toFixed(2)} rows`,
          );
        }
      }
    }
    if (waits) {
      console.log('PostgreSQL client backends during the last round (mean count per sample):');
      for (const [key, n] of waits.filter(([, n]) => n >= 0.05)) console.log(`  ${n.toFixed(2).padStart(6)}  ${key}`);
    }
  }
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const rate = mean(throughput);
  console.log(
    `bookings through the gateway: ${rate.toFixed(0)}/s (${connections} connections; load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')})`,
  );
  let sum = 0;
  for (const [name, values] of Object.entries(totals).sort((a, b) => mean(b[1]) - mean(a[1]))) {
    sum += mean(values);
    console.log(`  ${name.padEnd(32)} ${mean(values).toFixed(2).padStart(6)} ms CPU per booking`);
  }
  console.log(
    `  ${'all'.padEnd(32)} ${sum.toFixed(2).padStart(6)} ms CPU per booking × ${rate.toFixed(0)}/s = ${((sum * rate) / 1000).toFixed(2)} cores`,
  );
} finally {
  await admin.end();
  await stack.stop();
}

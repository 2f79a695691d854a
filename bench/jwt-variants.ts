/**
 * Policy variants side by side: each given Rego file (the gateway policy with its
 * tables rendered and `__JWKS__` left in) runs in a gateway sidecar of its own
 * in front of the same stub callee, next to a sidecar without the JWT
 * middleware; interleaved rounds of autocannon load, figures as ratios to the
 * plain sidecar. For measuring a policy change before it is rendered for real, or another daprd
 * build: a variant is `<file.rego | current>[@<daprd binary>]` (`current`: the gateway policy as
 * rendered for real; the binary defaults to the one `infra/infra.sh` built).
 *
 *   node --import tsx bench/jwt-variants.ts a.rego b.rego   (BENCH_SECONDS, BENCH_ROUNDS, BENCH_CONNECTIONS)
 *   node --import tsx bench/jwt-variants.ts current@/path/to/old/daprd current
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { loadavg } from 'node:os';
import path from 'node:path';
import { writeFileSync } from 'node:fs';
import { DAPR_NAMESPACE } from '@caregrid/platform';
import {
  daprdArgs,
  daprdBinary,
  freePort,
  freeSidecarPorts,
  localMtls,
  sidecarEnvironment,
  startProcess,
  opaComponent,
  POLICY_SOURCE,
  renderPolicy,
  waitForHttp,
} from '@caregrid/devkit';
import { cpuMs } from './cpu-time.js';
import { measure } from './load.js';
import { benchSigningKey, invokeDoctorsPath, sidecarLab } from './sidecars.js';

const variantArgs = process.argv.slice(2).map((arg) => {
  const [file, binary] = arg.split('@') as [string, string | undefined];
  return { file, binary, name: binary ? `${path.basename(file)} @${path.basename(binary)}` : path.basename(file) };
});
const seconds = Number(process.env.BENCH_SECONDS ?? 4);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 32);
const lab = sidecarLab('jwt-variants');
const key = await benchSigningKey();

const policyOf = (file: string) =>
  file === 'current'
    ? renderPolicy(readFileSync(POLICY_SOURCE, 'utf8'), key.jwks)
    : readFileSync(file, 'utf8').replace('__JWKS__', JSON.stringify(key.jwks));

const profileDir = process.env.BENCH_PROFILE_DIR;
const stops: (() => Promise<unknown>)[] = [];

/** A JWT sidecar: lab.sidecar, or one started here (another daprd binary; with BENCH_PROFILE_DIR daprd's profiling endpoint on). */
async function start(appId: string, configFile: string, resourcesDir: string, appPort: number, binary = daprdBinary) {
  if (!profileDir && binary === daprdBinary) {
    const sidecar = await lab.sidecar(appId, configFile, resourcesDir, appPort);
    return { httpPort: sidecar.httpPort, pid: sidecar.child.pid!, profilePort: undefined };
  }
  const ports = await freeSidecarPorts();
  const profilePort = await freePort();
  const mtls = localMtls();
  const spec = { appId, appPort, ...ports, resourcesPaths: [resourcesDir], configFile, logLevel: 'warn' };
  const child = startProcess({
    name: `${appId}-dapr`,
    command: binary,
    args: [...daprdArgs(spec, mtls), ...(profileDir ? ['--enable-profiling', '--profile-port', String(profilePort)] : [])],
    cwd: lab.dir,
    env: { ...process.env, ...sidecarEnvironment(), NAMESPACE: DAPR_NAMESPACE, DAPR_TRUST_ANCHORS: mtls.trustAnchors },
    logFile: path.join(lab.dir, `${appId}.log`),
  });
  stops.push(() => child.stop());
  await waitForHttp(`http://127.0.0.1:${ports.daprHttpPort}/v1.0/healthz/outbound`, { timeoutMs: 60_000, abortIf: child.exited });
  return { httpPort: ports.daprHttpPort, pid: child.child.pid!, profilePort: profileDir ? profilePort : undefined };
}

const appPort = await freePort();
const body = JSON.stringify({ items: [], nextCursor: null });
const app = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(body)).listen(appPort, '127.0.0.1');
const ids = variantArgs.map((_, i) => (i === 0 ? 'gateway' : `gateway-v${i}`));
try {
  await lab.sidecar('doctor-service', lab.calleeConfig('callee', [...ids, 'gateway-plain']), lab.resources('callee'), appPort);
  const callerPort = await freePort();
  const plainSidecar = await lab.sidecar('gateway-plain', lab.config('plain', false), lab.resources('plain'), callerPort);
  const variants: { name: string; port: number; pid: number; profilePort?: number }[] = [
    { name: 'no JWT middleware', port: plainSidecar.httpPort, pid: plainSidecar.child.pid! },
  ];
  for (const [i, { file, binary, name }] of variantArgs.entries()) {
    const sidecar = await start(
      ids[i]!,
      lab.config(`v${i}`, true),
      lab.resources(`v${i}`, opaComponent(policyOf(file), [ids[i]!])),
      callerPort,
      binary,
    );
    const status = (await fetch(`http://127.0.0.1:${sidecar.httpPort}${invokeDoctorsPath}`)).status;
    if (status !== 401) throw new Error(`${name}: no token got ${status}, not 401`);
    variants.push({ name, port: sidecar.httpPort, pid: sidecar.pid, profilePort: sidecar.profilePort });
  }
  const headers = { authorization: `Bearer ${await key.token(['admin'])}` };
  const totals = new Map<string, number[]>();
  // CPU of the caller sidecar (where the policy runs) per request: steadier than throughput on a shared machine.
  const cpu = new Map<string, number[]>();
  for (let round = 0; round < rounds; round++) {
    for (const { name, port, pid } of variants) {
      const cpuBefore = cpuMs(pid);
      const result = await measure(
        { url: `http://127.0.0.1:${port}${invokeDoctorsPath}`, headers },
        { seconds, connections, warmupSeconds: round === 0 ? 1 : 0 },
      );
      if (result.failed) throw new Error(`${name}: ${result.failed} failed`);
      totals.set(name, [...(totals.get(name) ?? []), result.rps]);
      cpu.set(name, [...(cpu.get(name) ?? []), (cpuMs(pid) - cpuBefore) / result.ok]);
    }
  }
  if (profileDir) {
    // One more load per variant while daprd's own CPU profile is taken (go tool pprof <file>).
    for (const { name, port, profilePort } of variants) {
      if (!profilePort) continue;
      const profile = fetch(`http://127.0.0.1:${profilePort}/debug/pprof/profile?seconds=${seconds}`).then((r) => r.arrayBuffer());
      await measure({ url: `http://127.0.0.1:${port}${invokeDoctorsPath}`, headers }, { seconds, connections, warmupSeconds: 0 });
      writeFileSync(path.join(profileDir, `${name}.pprof`), Buffer.from(await profile));
    }
  }
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const plain = mean(totals.get(variants[0]!.name)!);
  console.log(
    `\n${connections} connections, ${rounds} interleaved rounds of ${seconds} s; load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  const plainCpu = mean(cpu.get(variants[0]!.name)!);
  for (const [name, values] of totals) {
    const ms = mean(cpu.get(name)!);
    console.log(
      `${name.padEnd(28)} ${mean(values).toFixed(0).padStart(6)} req/s  ${(mean(values) / plain).toFixed(2)}× plain  (${values.map((v) => v.toFixed(0)).join(', ')})` +
        `   caller daprd ${ms.toFixed(3)} ms CPU per request (+${(ms - plainCpu).toFixed(3)} over plain)`,
    );
  }
} finally {
  await Promise.all(stops.map((stop) => stop()));
  await lab.stop();
  app.close();
}

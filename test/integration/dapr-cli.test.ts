/**
 * The real Dapr CLI runs the run file: `dapr run -f dapr` from the repository root with the
 * README's exports, then `npm run smoke` through the gateway it started, then Ctrl-C (SIGINT,
 * as a user stops it) and nothing of it is left running. The CLI is built from
 * ../shared/dapr-cli by `infra/infra.sh tools` (.caregrid/bin/dapr) or taken from PATH; on a
 * machine with neither (no shared folder beside the clone) the test says so and is skipped.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';
import { DAPR_NAMESPACE } from '@caregrid/platform';
import {
  CLI_SENTRY_TOKEN_FILE,
  infraUp,
  loadRunFile,
  localMtls,
  localZipkin,
  placeGroupsAtEnd,
  provisionServiceSecrets,
  readInfraEnv,
  readSecrets,
  repoRoot,
  secretsFile,
  sentryDir,
  stateDir,
  testKafkaBrokers,
  writeCliSentryTokens,
  writeGeneratedResources,
} from '@caregrid/devkit';

const sharedCli = path.resolve(repoRoot, '..', 'shared', 'dapr-cli');
const onPath = spawnSync('sh', ['-c', 'command -v dapr'], { encoding: 'utf8' }).stdout.trim();
const cli = [path.join(stateDir, 'bin', 'dapr'), onPath].find((candidate) => candidate && existsSync(candidate));
const runFile = path.join(repoRoot, 'dapr', 'dapr.yaml');
const apps = loadRunFile(runFile);
const gateway = apps.find((app) => app.appId === 'gateway')!;

if (!cli && !existsSync(sharedCli)) {
  console.warn(`dapr-cli test skipped: no dapr on PATH and no ${sharedCli} to build it from`);
}
const maybe = cli || existsSync(sharedCli) ? describe : describe.skip;

/** This checkout's run: daprd with its Configurations, apps started in its service folders. */
function leftovers(): string[] {
  const ps = spawnSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' }).stdout.split('\n');
  const appDirs = new Set(apps.map((app) => app.appDir));
  const cwdOf = (pid: string) => {
    try {
      return readlinkSync(`/proc/${pid}/cwd`);
    } catch {
      return '';
    }
  };
  return ps.filter((line) => {
    const pid = line.trim().split(' ')[0]!;
    if (line.includes('daprd') && line.includes(`${path.join(repoRoot, 'dapr', 'config')}/`)) return true;
    return line.includes('dist/main.js') && appDirs.has(cwdOf(pid));
  });
}

/**
 * The run uses the development consumer groups (`{appID}`), on the tests' broker: placed at the
 * end of their topics first, so the smoke's events are not queued behind every earlier run's.
 */
function skipBacklog(): void {
  const pubsub = parse(readFileSync(path.join(repoRoot, 'components', 'pubsub-events.yaml'), 'utf8')) as {
    spec: { metadata: { name: string; value?: string }[] };
  };
  const scopes = pubsub.spec.metadata.find((m) => m.name === 'subscriptionScopes')!.value!;
  const subscribers = scopes
    .split(';')
    .map((scope) => scope.split('=') as [string, string])
    .filter(([, topics]) => topics);
  const placed = placeGroupsAtEnd(
    testKafkaBrokers(),
    subscribers.map(([group]) => group),
    subscribers.flatMap(([, topics]) => topics.split(',')),
  );
  if (!placed) throw new Error('the Kafka admin tools are not to be had (infra/infra.sh kafka-classpath)');
}

async function waitForReady(url: string, cliRun: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (cliRun.exitCode !== null) throw new Error(`dapr run -f exited (${cliRun.exitCode}) before the gateway was ready`);
    const status = await fetch(url, { signal: AbortSignal.timeout(2_000) }).then(
      (r) => r.status,
      () => 0,
    );
    if (status === 200) return;
    await new Promise((resolve) => setTimeout(resolve, 1_000));
  }
  throw new Error(`${url} not 200 within ${timeoutMs} ms`);
}

maybe('the real Dapr CLI: dapr run -f dapr', () => {
  let cliRun: ChildProcess | undefined;
  let output = '';

  afterAll(async () => {
    // A failed test must not leave the run behind.
    if (cliRun && cliRun.exitCode === null) {
      cliRun.kill('SIGINT');
      await new Promise((resolve) => setTimeout(resolve, 10_000));
      if (cliRun.exitCode === null) process.kill(-cliRun.pid!, 'SIGKILL');
    }
  });

  it('runs every app with its sidecar; the smoke run passes through the gateway; Ctrl-C leaves nothing running', async () => {
    expect(cli).toBeDefined(); // the shared folder is here: `infra/infra.sh tools` builds it
    for (const port of apps.flatMap((a) => [a.appPort, a.daprHttpPort, a.daprGrpcPort, a.daprInternalGrpcPort, a.metricsPort])) {
      const busy = await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(1_000) }).then(
        () => true,
        (error: Error) => !/ECONNREFUSED/.test(String((error.cause as Error | undefined)?.message ?? error.message)),
      );
      if (busy) throw new Error(`port ${port} of dapr/dapr.yaml is in use (is \`npm run dev\` running?)`);
    }
    // What `npm run infra:up` and one `npm run dev` leave behind (README): daprd where the CLI
    // looks for it, the CLI's Sentry, databases, secrets and .caregrid/generated.
    infraUp(['daprd', 'sentry-cli']);
    const secrets = await provisionServiceSecrets(apps);
    writeGeneratedResources(secrets, path.join(repoRoot, '.caregrid', 'generated'));
    writeCliSentryTokens(apps, localMtls().tokenSigningKey, DAPR_NAMESPACE);
    skipBacklog();
    // The run file runs the compiled services: `npm run build` first, as the README says.
    const build = spawnSync('npm', ['run', '--silent', 'build'], { cwd: repoRoot, encoding: 'utf8' });
    if (build.status !== 0) throw new Error(`npm run build failed (${build.status}):\n${build.stdout}${build.stderr}`);

    // The README's exports (with this machine's state folder for $PWD/.caregrid), plus a
    // registry of this run's own so it cannot meet another run's sidecars, and the tests' broker
    // rather than the dev system's (whose consumers would take the smoke's events).
    const env = {
      ...process.env,
      DAPR_RUNTIME_PATH: stateDir,
      DAPR_HOST_IP: '127.0.0.1',
      KAFKA_BROKERS: testKafkaBrokers(),
      CAREGRID_SECRETS_FILE: secretsFile,
      INVOICE_STORAGE_DIR: path.join(stateDir, 'invoices'),
      CAREGRID_NAME_RESOLUTION_DB: path.join(mkdtempSync(path.join(tmpdir(), 'caregrid-cli-')), 'nameresolution.db'),
      DAPR_TRUST_ANCHORS: readFileSync(path.join(sentryDir, 'ca.crt'), 'utf8'),
      // The sidecars' spans, to infra/infra.sh's Zipkin (the apps have it from the run file).
      OTEL_EXPORTER_ZIPKIN_ENDPOINT: localZipkin().spansEndpoint,
      // The namespace in each sidecar's SPIFFE id, as the ACLs name it. (The CLI hands the run
      // file's env to the apps only: daprd sees just the exported environment.)
      NAMESPACE: 'caregrid',
      // Each sidecar's own token for the CLI's Sentry, relative to its app folder (its working directory).
      DAPR_SENTRY_TOKEN_FILE: CLI_SENTRY_TOKEN_FILE,
    };
    expect(readInfraEnv().CAREGRID_SENTRY_CLI_PORT).toBe('50001');
    cliRun = spawn(cli!, ['run', '-f', 'dapr'], { cwd: repoRoot, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    cliRun.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    cliRun.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));

    try {
      // Every app ready, as the CLI's "You're up and running!" lines would say (the gateway is
      // ready once one of its services answers; the smoke needs them all).
      for (const app of apps) await waitForReady(`http://127.0.0.1:${app.appPort}/readyz`, cliRun, 120_000);
    } catch (error) {
      throw new Error(`${(error as Error).message}\n--- dapr run -f output ---\n${output.slice(-6_000)}`);
    }

    const smoke = spawnSync('npm', ['run', '--silent', 'smoke', '--', '--url', `http://127.0.0.1:${gateway.appPort}`], {
      cwd: repoRoot,
      encoding: 'utf8',
      env: { ...process.env, CAREGRID_ADMIN_PASSWORD: readSecrets()['auth-service']!.bootstrapAdminPassword! },
    });
    if (smoke.status !== 0) throw new Error(`npm run smoke failed (${smoke.status}):\n${smoke.stdout}${smoke.stderr}`);
    expect(smoke.stdout).toMatch(/smoke passed: \d+ steps/);

    // Every sidecar: name resolution up, no placement or scheduler to chase, mTLS from the CLI's Sentry.
    const logs = apps.map((app) => {
      const dir = path.join(app.appDir, '.dapr', 'logs');
      const files = spawnSync('sh', ['-c', `ls -t ${dir}/${app.appId}_daprd_*.log | head -n 1`], { encoding: 'utf8' }).stdout.trim();
      return { appId: app.appId, log: files ? readFileSync(files, 'utf8') : '' };
    });
    for (const { appId, log } of logs) {
      expect({ appId, started: log.includes('dapr initialized') }).toEqual({ appId, started: true });
      // An address with the default ports (a bare /50005/ also matched nanoseconds of a log timestamp).
      expect({ appId, placementOrScheduler: /:5000[56]\b/.test(log) }).toEqual({ appId, placementOrScheduler: false });
      expect({ appId, nameResolutionError: /unable to open database file|missing connection string/.test(log) }).toEqual({
        appId,
        nameResolutionError: false,
      });
    }

    // Ctrl-C: the CLI stops every app and sidecar and exits.
    cliRun.kill('SIGINT');
    const code = await new Promise<number | null>((resolve) => cliRun!.once('exit', (c) => resolve(c)));
    expect(code).not.toBeNull();
    const deadline = Date.now() + 15_000;
    while (leftovers().length > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 500));
    expect(leftovers()).toEqual([]);
    const gatewayAnswers = await fetch(`http://127.0.0.1:${gateway.appPort}/healthz`).then(
      () => true,
      () => false,
    );
    expect(gatewayAnswers).toBe(false);
  }, 240_000);
});

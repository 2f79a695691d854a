/**
 * `npm run dev`: runs dapr/dapr.yaml the way `dapr run -f dapr` would, without
 * the Dapr CLI: infrastructure first (daprd exits if Kafka is unreachable),
 * the clinic app's build (the gateway serves it at /app), databases, secrets
 * and the gateway policy, then each app with its daprd, a status table (with where the traces and the mail go), and prefixed logs until Ctrl-C stops everything (apps first,
 * then sidecars). Meanwhile it supervises them: a crashed app or sidecar is
 * started again (0.5 s backoff doubling to 10 s), and an app receives
 * invocations only while its /readyz says ready.
 *
 *   --file <run file>   another run file (default dapr/dapr.yaml)
 *   --smoke             start, check health, print the table, stop (exit 1 if unhealthy)
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { DAPR_NAMESPACE } from '@caregrid/platform';
import { buildClinicApp } from '../build-app.js';
import { localMtls } from '../daprd.js';
import { infraUp } from '../infra.js';
import { defaultRunFile, localMailpit, localScheduler, localZipkin, logsDir, secretsFile, sentryDir } from '../paths.js';
import { writeGeneratedResources } from '../policy.js';
import { provisionServiceSecrets } from '../provision.js';
import { loadRunFile } from '../runfile.js';
import { writeCliSentryTokens } from '../sentry-token.js';
import { startStack } from '../stack.js';
import type { StackMember } from '../supervisor.js';

const { values } = parseArgs({ options: { file: { type: 'string' }, smoke: { type: 'boolean', default: false } } });
const runFile = path.resolve(values.file ?? defaultRunFile);
const say = (message: string) => console.log(`\u001b[1;34m[dev]\u001b[0m ${message}`);

/** Where the apps' (and their sidecars') spans go: the Zipkin UI when it is infra/infra.sh's. */
function tracesLine(members: StackMember[]): string {
  const endpoints = new Set(members.map((m) => m.app.env.OTEL_EXPORTER_ZIPKIN_ENDPOINT ?? ''));
  if (endpoints.size === 1 && endpoints.has('')) return 'not exported (no OTEL_EXPORTER_ZIPKIN_ENDPOINT in the run file)';
  const zipkin = localZipkin();
  if (endpoints.size === 1 && endpoints.has(zipkin.spansEndpoint)) return `Zipkin UI ${zipkin.url}/zipkin/`;
  return `sent to ${[...endpoints].map((e) => e || '(none)').join(', ')}`;
}

/** Where the sidecars' jobs go, and whether infra/infra.sh's scheduler answers its health check. */
async function schedulerLine(members: StackMember[]): Promise<string> {
  const addresses = new Set(members.map((m) => m.app.schedulerHostAddress ?? ''));
  const scheduler = localScheduler();
  if (addresses.size !== 1 || !addresses.has(scheduler.address))
    return `sidecars use ${[...addresses].map((a) => a || '(none)').join(', ')}`;
  const healthy = await fetch(scheduler.healthzUrl, { signal: AbortSignal.timeout(2_000) }).then(
    (response) => response.ok,
    () => false,
  );
  return `Dapr scheduler ${scheduler.address}: ${healthy ? 'healthy' : '\u001b[31mNOT answering its health check\u001b[0m'}`;
}

/** Where the `mail` binding delivers locally (infra/infra.sh's Mailpit), and where to read what arrived. */
function mailLine(): string {
  const mailpit = localMailpit();
  return `Mailpit ${mailpit.smtpHost}:${mailpit.smtpPort} (API ${mailpit.apiUrl}/api/v1/messages)`;
}

async function printTable(members: StackMember[]): Promise<void> {
  const rows = [
    ['SERVICE', 'APP URL', 'SIDECAR HTTP', 'MTLS', 'STATUS'],
    ...members.map((m) => [
      m.app.appId,
      `http://127.0.0.1:${m.app.appPort}`,
      String(m.app.daprHttpPort),
      { on: 'on (Sentry)', off: 'OFF', pending: 'no cert yet' }[m.sidecar.mtlsState()],
      m.status,
    ]),
  ];
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  console.log();
  for (const row of rows) console.log(row.map((cell, column) => cell.padEnd(widths[column]!)).join('  '));
  console.log(
    `\nmTLS between sidecars, certificates from Dapr Sentry (trust bundle ${sentryDir}); ACLs: the Configurations' accessControl`,
  );
  console.log(`jobs: ${await schedulerLine(members)}`);
  console.log(`traces: ${tracesLine(members)}`);
  console.log(`mail: ${mailLine()}`);
  console.log(`logs: ${logsDir}${values.smoke ? '' : '  ·  Ctrl-C stops everything'}\n`);
}

async function main(): Promise<number> {
  // Listening from the first moment: Ctrl-C while the stack starts must stop what has started (the
  // apps and sidecars run in process groups of their own, so the terminal's SIGINT never reaches them).
  let stopRequested = false;
  const stopSignal = new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  }).then(() => {
    stopRequested = true;
  });
  const apps = loadRunFile(runFile);
  say(`${apps.length} app(s) in ${path.relative(process.cwd(), runFile) || runFile}`);
  // Not the tests' broker (kafka-test): the dev system never uses it.
  infraUp(['dev']);
  // A failed build is no reason not to run the API: /app then answers 503 saying to build it.
  await buildClinicApp().then(
    (app) => say(`clinic app built (${(app.gzipBytes / 1024).toFixed(1)} KB gzipped): http://127.0.0.1:4004/app once the gateway is up`),
    (error: Error) => say(`\u001b[31mclinic app not built: ${error.message}\u001b[0m`),
  );
  say('provisioning databases, secrets and the gateway policy');
  const secrets = await provisionServiceSecrets(apps);
  writeGeneratedResources(secrets);
  // For `dapr run -f dapr` (README): each app's sidecar token where the CLI's daprd looks for it.
  writeCliSentryTokens(apps, localMtls().tokenSigningKey, DAPR_NAMESPACE);
  if (stopRequested) return 130;
  const stack = await startStack({
    apps,
    logDir: logsDir,
    echo: !values.smoke,
    onUnexpectedExit: (member, what, code) =>
      say(
        `\u001b[31m${member.app.appId} ${what} exited (${code}); see ${logsDir}/${member.app.appId}${what === 'sidecar' ? '-daprd' : ''}.log\u001b[0m`,
      ),
    // Restarts of crashed processes (with backoff) and routing changes by readiness.
    log: say,
  });
  await printTable(stack.members);
  if (apps.some((a) => a.env.CAREGRID_GENERATED_SECRETS?.includes('bootstrapAdmin'))) {
    say(`first admin: see bootstrapAdminEmail / bootstrapAdminPassword in ${secretsFile}`);
  }
  if (!values.smoke) await stopSignal;
  say('stopping apps, then sidecars');
  await stack.stop();
  return values.smoke && !stack.healthy ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (error: Error) => {
    console.error(`\u001b[31m[dev] ${error.message}\u001b[0m`);
    process.exit(1);
  },
);

/**
 * `npm run dev`: runs dapr/dapr.yaml the way `dapr run -f dapr` would, without
 * the Dapr CLI: infrastructure first (daprd exits if Kafka is unreachable),
 * databases and secrets, then each app with its daprd, a status table, and
 * prefixed logs until Ctrl-C stops everything (apps first, then sidecars).
 *
 *   --file <run file>   another run file (default dapr/dapr.yaml)
 *   --smoke             start, check health, print the table, stop (exit 1 if unhealthy)
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { startSidecar, type RunningSidecar } from '../daprd.js';
import { infraUp } from '../infra.js';
import { defaultRunFile, logsDir } from '../paths.js';
import { startProcess, waitForHttp, type ManagedProcess } from '../processes.js';
import { provisionServiceSecrets } from '../provision.js';
import { loadRunFile, type ResolvedApp } from '../runfile.js';

const { values } = parseArgs({ options: { file: { type: 'string' }, smoke: { type: 'boolean', default: false } } });
const runFile = path.resolve(values.file ?? defaultRunFile);
const say = (message: string) => console.log(`\u001b[1;34m[dev]\u001b[0m ${message}`);

type Running = { app: ResolvedApp; process: ManagedProcess; sidecar: RunningSidecar; status: string };

async function start(app: ResolvedApp): Promise<Running> {
  const appProcess = startProcess({
    name: app.appId,
    command: app.command[0]!,
    args: app.command.slice(1),
    cwd: app.appDir,
    // What the Dapr CLI exports to an app, plus the run file's env.
    env: {
      ...process.env,
      ...app.env,
      APP_ID: app.appId,
      APP_PORT: String(app.appPort),
      DAPR_HTTP_PORT: String(app.daprHttpPort),
      DAPR_GRPC_PORT: String(app.daprGrpcPort),
    },
    logFile: path.join(logsDir, `${app.appId}.log`),
    echo: !values.smoke,
  });
  const sidecar = startSidecar({ ...app, env: app.env, echo: false });
  return { app, process: appProcess, sidecar, status: 'starting' };
}

async function checkHealth(running: Running): Promise<void> {
  const { app } = running;
  try {
    await waitForHttp(`http://127.0.0.1:${app.appPort}${app.appHealthCheckPath}`, { timeoutMs: 90_000, abortIf: running.process.exited });
    await waitForHttp(`http://127.0.0.1:${app.daprHttpPort}/v1.0/healthz`, { timeoutMs: 60_000, abortIf: running.sidecar.exited });
    const ready = await fetch(`http://127.0.0.1:${app.appPort}/readyz`).then(
      (r) => r.status,
      () => 0,
    );
    running.status = ready === 200 ? 'healthy' : `alive, /readyz ${ready}`;
  } catch (error) {
    running.status = `FAILED: ${(error as Error).message}`;
  }
}

function printTable(all: Running[]): void {
  const rows = [
    ['SERVICE', 'APP URL', 'SIDECAR HTTP', 'STATUS'],
    ...all.map((r) => [r.app.appId, `http://127.0.0.1:${r.app.appPort}`, String(r.app.daprHttpPort), r.status]),
  ];
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  console.log();
  for (const row of rows) console.log(row.map((cell, column) => cell.padEnd(widths[column]!)).join('  '));
  console.log(`\nlogs: ${logsDir}${values.smoke ? '' : '  ·  Ctrl-C stops everything'}\n`);
}

async function stopAll(all: Running[]): Promise<void> {
  say('stopping apps');
  await Promise.all(all.map((r) => r.process.stop()));
  say('stopping sidecars');
  await Promise.all(all.map((r) => r.sidecar.stop()));
}

async function main(): Promise<number> {
  const apps = loadRunFile(runFile);
  say(`${apps.length} app(s) in ${path.relative(process.cwd(), runFile) || runFile}`);
  infraUp();
  say('provisioning databases and secrets');
  await provisionServiceSecrets(apps);
  const all = await Promise.all(apps.map(start));
  let stopping = false;
  for (const running of all) {
    void running.process.exited.then((code) => {
      if (!stopping) say(`\u001b[31m${running.app.appId} exited (${code}); see ${logsDir}/${running.app.appId}.log\u001b[0m`);
    });
    void running.sidecar.exited.then((code) => {
      if (!stopping) say(`\u001b[31m${running.app.appId} sidecar exited (${code}); see ${logsDir}/${running.app.appId}-daprd.log\u001b[0m`);
    });
  }
  await Promise.all(all.map(checkHealth));
  printTable(all);
  const healthy = all.every((r) => r.status === 'healthy');
  if (values.smoke) {
    stopping = true;
    await stopAll(all);
    return healthy ? 0 : 1;
  }
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  stopping = true;
  await stopAll(all);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: Error) => {
    console.error(`\u001b[31m[dev] ${error.message}\u001b[0m`);
    process.exit(1);
  },
);

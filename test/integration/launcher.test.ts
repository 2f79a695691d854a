/**
 * `npm run dev` end to end on a run file of its own: infrastructure check,
 * database + secret provisioning, app and real daprd started from the run
 * file, health table, clean stop.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import path from 'node:path';
import { stringify } from 'yaml';
import {
  dropDatabase,
  freePort,
  localMailpit,
  localScheduler,
  readSecrets,
  renderResources,
  repoRoot,
  uniqueName,
  writeSecrets,
} from '@caregrid/devkit';

const appId = uniqueName('probe-service');

afterAll(async () => {
  const secrets = readSecrets();
  delete secrets[appId];
  writeSecrets(secrets);
  await dropDatabase('postgres', appId);
});

type Probe = { runFile: string; appPort: number; httpPort: number };

async function probeRunFile(): Promise<Probe> {
  const resources = renderResources({ components: ['components/secretstore.yaml'], scopes: [appId] });
  const [appPort, httpPort, grpcPort, metricsPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const runFile = path.join(path.dirname(resources.dir), 'dapr.yaml');
  writeFileSync(
    runFile,
    stringify({
      version: 1,
      common: {
        resourcesPaths: [resources.dir],
        configFilePath: path.join(repoRoot, 'dapr/config/caregrid.yaml'),
        // As dapr/dapr.yaml: no actors, so no placement; the local scheduler for jobs.
        placementHostAddress: '',
        schedulerHostAddress: localScheduler().address,
      },
      apps: [
        {
          appID: appId,
          appDirPath: path.join(repoRoot, 'test/fixtures/probe-service'),
          appPort,
          daprHTTPPort: httpPort,
          daprGRPCPort: grpcPort,
          metricsPort,
          command: ['node', '--import', 'tsx', 'main.ts'],
          env: { CAREGRID_DATABASE: 'postgres' },
        },
      ],
    }),
  );
  return { runFile, appPort, httpPort };
}

function listening(port: number): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const socket = connect(port, '127.0.0.1');
    const answer = (open: boolean) => {
      socket.destroy();
      resolve(open);
    };
    socket.once('connect', () => answer(true)).once('error', () => answer(false));
    socket.setTimeout(1_000, () => answer(false));
  });
}

it('starts an app and its sidecar from a run file, provisions its database, reports it healthy and stops', async () => {
  const { runFile, appPort, httpPort } = await probeRunFile();
  const launcher = spawn('node', ['--import', 'tsx', 'packages/devkit/src/cli/dev.ts', '--file', runFile, '--smoke'], { cwd: repoRoot });
  let output = '';
  launcher.stdout.on('data', (chunk) => (output += chunk));
  launcher.stderr.on('data', (chunk) => (output += chunk));
  const code = await new Promise((resolve) => launcher.on('exit', resolve));

  // Healthy, and its sidecar holds a certificate from Dapr Sentry (mTLS on).
  expect(output).toMatch(new RegExp(`${appId}\\s+http://127.0.0.1:${appPort}\\s+${httpPort}\\s+on \\(Sentry\\)\\s+healthy`));
  expect(output).toContain(`jobs: Dapr scheduler ${localScheduler().address}: healthy`);
  const mail = localMailpit();
  expect(output).toContain(`mail: Mailpit 127.0.0.1:${mail.smtpPort} (API ${mail.apiUrl}/api/v1/messages)`);
  expect(code).toBe(0);
  // The secret the launcher wrote logs the app in as its own role.
  expect(readSecrets()[appId]?.databaseUrl).toMatch(new RegExp(`^postgres://${appId.replace(/-/g, '_')}:`));
  expect(output).toContain('stopping apps, then sidecars');
});

it('Ctrl-C while the stack is still starting stops what has started: no app or sidecar is left behind', async () => {
  const { runFile, appPort, httpPort } = await probeRunFile();
  const launcher = spawn('node', ['--import', 'tsx', 'packages/devkit/src/cli/dev.ts', '--file', runFile], { cwd: repoRoot });
  let output = '';
  const started = new Promise<void>((resolve) => {
    const see = (chunk: Buffer) => {
      output += chunk;
      // The app's first log line: it runs, and the stack is not through starting yet (no table printed).
      if (new RegExp(`${appId}\\s*\\|`).test(output)) resolve();
    };
    launcher.stdout.on('data', see);
    launcher.stderr.on('data', see);
  });
  const exited = new Promise((resolve) => launcher.on('exit', resolve));
  await started;
  launcher.kill('SIGINT');
  await exited;
  expect(output).toContain('stopping apps, then sidecars');
  expect(await listening(appPort)).toBe(false);
  expect(await listening(httpPort)).toBe(false);
});

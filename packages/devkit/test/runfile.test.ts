import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadRunFile, RunFileError } from '../src/runfile.js';

/** A run file in <tmp>/dapr/ beside <tmp>/services/*, with the Configurations it names. */
function runFile(text: string): string {
  const root = mkdtempSync(path.join(tmpdir(), 'runfile-'));
  for (const dir of ['dapr/config', 'services/patient-service/config', 'services/gateway'])
    mkdirSync(path.join(root, dir), { recursive: true });
  for (const file of ['dapr/config/caregrid.yaml', 'services/patient-service/config/own.yaml'])
    writeFileSync(path.join(root, file), 'kind: Configuration\n');
  const file = path.join(root, 'dapr', 'dapr.yaml');
  writeFileSync(file, text);
  return file;
}

const common = `version: 1
common:
  resourcesPaths: [../components, resources]
  configFilePath: config/caregrid.yaml
  env:
    LOG_LEVEL: info
    FLAG: true
`;

describe('run file', () => {
  it('merges common settings into each app and resolves paths against the file', () => {
    const file = runFile(`${common}apps:
  - appID: patient-service
    appDirPath: ../services/patient-service
    appPort: 8080
    daprHTTPPort: 3500
    daprGRPCPort: 50001
    metricsPort: 9190
    command: [node, main.ts]
    env:
      LOG_LEVEL: debug
`);
    const [app] = loadRunFile(file);
    const dir = path.dirname(file);
    expect(app).toMatchObject({
      appId: 'patient-service',
      appDir: path.resolve(dir, '../services/patient-service'),
      resourcesPaths: [path.resolve(dir, '../components'), path.resolve(dir, 'resources')],
      configFile: path.resolve(dir, 'config/caregrid.yaml'),
      appHealthCheckPath: '/healthz',
      env: { LOG_LEVEL: 'debug', FLAG: 'true' },
    });
  });

  it("resolves an app's own configFilePath and resourcesPaths against its appDirPath, as the Dapr CLI does", () => {
    const file = runFile(`${common}apps:
  - appID: patient-service
    appDirPath: ../services/patient-service
    appPort: 8080
    daprHTTPPort: 3500
    daprGRPCPort: 50001
    metricsPort: 9190
    configFilePath: config/own.yaml
    resourcesPaths: [../../components, generated]
    command: [node, main.ts]
`);
    const [app] = loadRunFile(file);
    const appDir = path.resolve(path.dirname(file), '../services/patient-service');
    expect(app).toMatchObject({
      appDir,
      configFile: path.join(appDir, 'config/own.yaml'),
      resourcesPaths: [path.resolve(appDir, '../../components'), path.join(appDir, 'generated')],
    });
    // Relative to the run file instead (the old reading), the CLI refuses the file: so does the launcher.
    expect(() =>
      loadRunFile(
        runFile(`${common}apps:
  - appID: gateway
    appDirPath: ../services/gateway
    appPort: 4004
    daprHTTPPort: 3500
    daprGRPCPort: 50001
    metricsPort: 9190
    configFilePath: config/caregrid.yaml
    command: [node]
`),
      ),
    ).toThrow(/configFilePath .*services\/gateway\/config\/caregrid.yaml does not exist/);
  });

  it('follows the CLI on placement and scheduler: localhost by default, off when blank', () => {
    const app = (extra: string) =>
      loadRunFile(
        runFile(
          `${common}apps:\n  - appID: a\n    appDirPath: .\n    appPort: 1\n    daprHTTPPort: 2\n    daprGRPCPort: 3\n    metricsPort: 4\n    command: [node]\n${extra}`,
        ),
      )[0]!;
    expect(app('')).toMatchObject({ placementHostAddress: 'localhost:50005', schedulerHostAddress: 'localhost:50006' });
    // CLI 1.18 turns an empty scheduler address back into localhost; a blank one disables it.
    expect(app('    placementHostAddress: ""\n    schedulerHostAddress: ""\n')).toMatchObject({
      placementHostAddress: undefined,
      schedulerHostAddress: 'localhost:50006',
    });
    expect(app('    schedulerHostAddress: " "\n')).toMatchObject({ schedulerHostAddress: undefined });
    expect(app('    placementHostAddress: placement\n')).toMatchObject({ placementHostAddress: 'placement:50005' });
  });

  it('runs dapr/dapr.yaml without placement, with the local scheduler, each daprd in its app folder', async () => {
    const { defaultRunFile, repoRoot, readInfraEnv } = await import('../src/paths.js');
    for (const app of loadRunFile(defaultRunFile)) {
      expect(app).toMatchObject({
        appDir: path.join(repoRoot, 'services', app.appId),
        placementHostAddress: undefined,
        schedulerHostAddress: `127.0.0.1:${readInfraEnv().CAREGRID_SCHEDULER_PORT}`,
      });
      expect(app.configFile.startsWith(path.join(repoRoot, 'dapr', 'config') + path.sep)).toBe(true);
      for (const dir of app.resourcesPaths) expect(dir.startsWith(repoRoot + path.sep)).toBe(true);
    }
  });

  it('refuses two apps on one port', () => {
    const app = (id: string, httpPort: number) => `  - appID: ${id}
    appDirPath: .
    appPort: 8080
    daprHTTPPort: ${httpPort}
    daprGRPCPort: ${httpPort + 1}
    metricsPort: ${httpPort + 2}
    command: [node]
`;
    expect(() => loadRunFile(runFile(`${common}apps:\n${app('a', 3500)}${app('b', 3600)}`))).toThrow(/port 8080 is used by both a and b/);
  });

  it('refuses an app without the sidecar ports the launcher needs', () => {
    expect(() => loadRunFile(runFile(`${common}apps:\n  - appID: a\n    appDirPath: .\n    appPort: 1\n    command: [node]\n`))).toThrow(
      RunFileError,
    );
  });
});

describe('daprd arguments', () => {
  it('always carry the internal gRPC port when the run file sets it (replicas must not share one)', async () => {
    const { daprdArgs } = await import('../src/daprd.js');
    const base = { appId: 'a', appPort: 1, daprHttpPort: 2, daprGrpcPort: 3, metricsPort: 4, resourcesPaths: ['r'], configFile: 'c' };
    const args = daprdArgs({ ...base, daprInternalGrpcPort: 5 });
    expect(args[args.indexOf('--dapr-internal-grpc-port') + 1]).toBe('5');
    expect(daprdArgs(base)).not.toContain('--dapr-internal-grpc-port');
  });
});

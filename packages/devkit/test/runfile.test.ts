import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadRunFile, RunFileError } from '../src/runfile.js';

function runFile(text: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'runfile-'));
  const file = path.join(dir, 'dapr.yaml');
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

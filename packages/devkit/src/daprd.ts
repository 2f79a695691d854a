import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { daprdBinary, logsDir, repoRoot, sidecarEnvironment, stateDir } from './paths.js';
import { startProcess, waitForHttp, type ManagedProcess } from './processes.js';

export type SidecarSpec = {
  appId: string;
  appPort: number;
  appProtocol?: string;
  appHealthCheckPath?: string;
  daprHttpPort: number;
  daprGrpcPort: number;
  /**
   * Sidecar-to-sidecar port. Always set it: left out, daprd derives a "stable" port from the
   * app-id, so two replicas of one app can pick the same one and take over each other's
   * name-resolution entry (the loser exits: "Host registration lost").
   */
  daprInternalGrpcPort?: number;
  metricsPort: number;
  resourcesPaths: string[];
  configFile: string;
  logLevel?: string;
  env?: Record<string, string>;
  echo?: boolean;
  logFile?: string;
};

/** The daprd flags the Dapr CLI would pass for the same run-file entry. */
export function daprdArgs(spec: SidecarSpec): string[] {
  return [
    '--app-id',
    spec.appId,
    '--app-port',
    String(spec.appPort),
    '--app-protocol',
    spec.appProtocol ?? 'http',
    '--app-channel-address',
    '127.0.0.1',
    '--dapr-http-port',
    String(spec.daprHttpPort),
    '--dapr-grpc-port',
    String(spec.daprGrpcPort),
    '--metrics-port',
    String(spec.metricsPort),
    ...(spec.daprInternalGrpcPort === undefined ? [] : ['--dapr-internal-grpc-port', String(spec.daprInternalGrpcPort)]),
    '--dapr-listen-addresses',
    '127.0.0.1',
    '--config',
    spec.configFile,
    ...spec.resourcesPaths.flatMap((dir) => ['--resources-path', dir]),
    '--log-level',
    spec.logLevel ?? 'info',
    '--enable-app-health-check',
    '--app-health-check-path',
    spec.appHealthCheckPath ?? '/healthz',
    '--app-health-probe-interval',
    '3',
  ];
}

export type RunningSidecar = ManagedProcess & { httpPort: number; waitReady: (timeoutMs?: number) => Promise<void> };

/**
 * Starts a real daprd. Its working directory is the repository root because
 * the Configuration's sqlite name-resolution path is relative to it.
 */
export function startSidecar(spec: SidecarSpec): RunningSidecar {
  // The sqlite name-resolution database lives here; sqlite does not create directories.
  mkdirSync(path.join(stateDir, 'dapr'), { recursive: true });
  const processHandle = startProcess({
    name: `${spec.appId}-dapr`,
    command: daprdBinary,
    args: daprdArgs(spec),
    cwd: repoRoot,
    env: { ...process.env, ...sidecarEnvironment(), ...spec.env },
    logFile: spec.logFile ?? path.join(logsDir, `${spec.appId}-daprd.log`),
    echo: spec.echo,
  });
  return {
    ...processHandle,
    httpPort: spec.daprHttpPort,
    // /healthz/outbound: components loaded; enough to invoke and publish even before the app is up.
    waitReady: (timeoutMs = 60_000) =>
      waitForHttp(`http://127.0.0.1:${spec.daprHttpPort}/v1.0/healthz/outbound`, { timeoutMs, abortIf: processHandle.exited }),
  };
}

import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { DAPR_NAMESPACE } from '@caregrid/platform';
import { kafkaPassword } from './kafka-auth.js';
import { daprdBinary, logsDir, nameResolutionDb, readInfraEnv, repoRoot, sentryAuthDir, sentryDir, sidecarEnvironment } from './paths.js';
import { startProcess, waitForHttp, type ManagedProcess } from './processes.js';
import { sentryTokenFile } from './sentry-token.js';

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
  /** The app's folder: daprd's working directory, as `dapr run -f` starts it (default: the repository root). */
  appDir?: string;
  /** Actor placement and scheduler: passed only when set (daprd's own default is none). */
  placementHostAddress?: string;
  schedulerHostAddress?: string;
  resourcesPaths: string[];
  configFile: string;
  logLevel?: string;
  env?: Record<string, string>;
  echo?: boolean;
  logFile?: string;
  /** Where the sidecar gets its mTLS identity; default: the local Sentry (infra/infra.sh up sentry). `false`: no mTLS. */
  mtls?: MtlsSettings | false;
  /**
   * The token daprd shows Sentry (DAPR_SENTRY_TOKEN_FILE); default: one minted for its app-id with
   * the Sentry's signing key. A path: that file instead (another app's token). `false`: none.
   */
  sentryToken?: string | false;
};

/**
 * A Sentry to ask for certificates, the root(s) its peers' certificates must chain to, and the
 * key that signs the tokens it asks each requester for (the launcher mints one per sidecar).
 */
export type MtlsSettings = { sentryAddress: string; trustAnchors: string; tokenSigningKey: string };

/** The local Sentry of infra/infra.sh, the trust bundle it generated and its token signing key. */
export function localMtls(): MtlsSettings {
  const anchors = path.join(sentryDir, 'ca.crt');
  const tokenSigningKey = path.join(sentryAuthDir, 'signing-key.pem');
  for (const file of [anchors, tokenSigningKey]) {
    if (!existsSync(file)) throw new Error(`${file} is missing: start Dapr Sentry first (bash infra/infra.sh up sentry)`);
  }
  return {
    sentryAddress: `127.0.0.1:${readInfraEnv().CAREGRID_SENTRY_PORT}`,
    trustAnchors: readFileSync(anchors, 'utf8'),
    tokenSigningKey,
  };
}

/** The daprd flags the Dapr CLI would pass for the same run-file entry (plus mTLS, which the CLI takes from `dapr init`). */
export function daprdArgs(spec: SidecarSpec, mtls: MtlsSettings | false = false): string[] {
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
    ...(spec.placementHostAddress ? ['--placement-host-address', spec.placementHostAddress] : []),
    ...(spec.schedulerHostAddress ? ['--scheduler-host-address', spec.schedulerHostAddress] : []),
    ...(mtls ? ['--enable-mtls', '--sentry-address', mtls.sentryAddress] : []),
  ];
}

export type RunningSidecar = ManagedProcess & {
  httpPort: number;
  waitReady: (timeoutMs?: number) => Promise<void>;
  /** What daprd logged about its mTLS identity: `on` once Sentry issued its certificate. */
  mtlsState: () => 'on' | 'off' | 'pending';
  /** Whether daprd's own app health check passes (it refuses to invoke an app it holds unhealthy); undefined before its first probe. */
  appHealthy: () => boolean | undefined;
  /** When daprd had started all but the app channel and began waiting for the app's port (epoch ms): its own start-up time. */
  waitingForAppAt: () => number | undefined;
};

/**
 * Starts a real daprd, in its app's folder as the Dapr CLI does (nothing it reads depends on
 * the working directory: the name-resolution registry comes from CAREGRID_NAME_RESOLUTION_DB).
 */
export function startSidecar(spec: SidecarSpec): RunningSidecar {
  // The sqlite name-resolution database lives here; sqlite does not create directories.
  mkdirSync(path.dirname(nameResolutionDb), { recursive: true });
  const mtls = spec.mtls ?? localMtls();
  // The namespace in the sidecar's SPIFFE identity, as on Kubernetes; the ACLs name it.
  const namespace = spec.env?.NAMESPACE ?? DAPR_NAMESPACE;
  const sentryToken =
    mtls && spec.sentryToken !== false ? (spec.sentryToken ?? sentryTokenFile(mtls.tokenSigningKey, spec.appId, namespace)) : undefined;
  let mtlsState: 'on' | 'off' | 'pending' = 'pending';
  let appHealthy: boolean | undefined;
  let waitingForAppAt: number | undefined;
  const processHandle = startProcess({
    name: `${spec.appId}-dapr`,
    command: daprdBinary,
    args: daprdArgs(spec, mtls),
    cwd: spec.appDir ?? repoRoot,
    env: {
      ...process.env,
      ...sidecarEnvironment(),
      NAMESPACE: namespace,
      ...(mtls ? { DAPR_TRUST_ANCHORS: mtls.trustAnchors } : {}),
      ...(sentryToken ? { DAPR_SENTRY_TOKEN_FILE: sentryToken } : {}),
      // The app's own Kafka login (the `events` component's envRef), this sidecar's alone.
      KAFKA_SASL_PASSWORD: kafkaPassword(spec.appId) ?? '',
      ...spec.env,
    },
    logFile: spec.logFile ?? path.join(logsDir, `${spec.appId}-daprd.log`),
    echo: spec.echo,
    onLine: (line) => {
      // daprd 1.18's own words: the first once a certificate from Sentry is in hand, the second without mTLS.
      if (line.includes('Starting workload identity expiry watcher')) mtlsState = 'on';
      else if (line.includes('mTLS is disabled')) mtlsState = 'off';
      else if (line.includes('App entered healthy status')) appHealthy = true;
      else if (line.includes('App entered un-healthy status')) appHealthy = false;
      else if (line.includes('This will block until the app is listening')) waitingForAppAt ??= Date.now();
    },
  });
  return {
    ...processHandle,
    httpPort: spec.daprHttpPort,
    mtlsState: () => mtlsState,
    appHealthy: () => appHealthy,
    waitingForAppAt: () => waitingForAppAt,
    // /healthz/outbound: components loaded; enough to invoke and publish even before the app is up.
    waitReady: (timeoutMs = 60_000) =>
      waitForHttp(`http://127.0.0.1:${spec.daprHttpPort}/v1.0/healthz/outbound`, { timeoutMs, abortIf: processHandle.exited }),
  };
}

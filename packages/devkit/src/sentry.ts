import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { MtlsSettings } from './daprd.js';
import { repoRoot, stateDir } from './paths.js';
import { startProcess, type ManagedProcess } from './processes.js';
import { generateSentryTokenKey } from './sentry-token.js';
import { freePort } from './testing.js';

export const sentryBinary = path.join(stateDir, 'bin', 'sentry');

/**
 * A Dapr Sentry of its own, with a trust bundle and a token signing key of
 * its own generated into `dir` on start: another certificate authority than
 * infra/infra.sh's, for tests of a sidecar whose certificate the others must
 * not trust. Configured as infra/infra.sh's (the jwks validator).
 */
export async function startSentry(options: { dir: string; logFile: string }): Promise<ManagedProcess & MtlsSettings> {
  mkdirSync(options.dir, { recursive: true, mode: 0o700 });
  const [port, healthzPort, metricsPort] = [await freePort(), await freePort(), await freePort()];
  // Its working directory holds jwks.json, the config's relative jwks source.
  const tokenSigningKey = generateSentryTokenKey(options.dir);
  // Without NAMESPACE Sentry's own id is CAREGRID_SENTRY_AUDIENCE, as infra/infra.sh runs it.
  const { NAMESPACE: _namespace, ...env } = process.env;
  const sentry = startProcess({
    name: 'sentry',
    command: sentryBinary,
    args: [
      `--config=${path.join(repoRoot, 'infra', 'sentry', 'config.yaml')}`,
      `--issuer-credentials=${options.dir}`,
      '--listen-address=127.0.0.1',
      `--port=${port}`,
      '--healthz-listen-address=127.0.0.1',
      `--healthz-port=${healthzPort}`,
      '--metrics-listen-address=127.0.0.1',
      `--metrics-port=${metricsPort}`,
    ],
    cwd: options.dir,
    env,
    logFile: options.logFile,
  });
  const anchors = path.join(options.dir, 'ca.crt');
  const deadline = Date.now() + 30_000;
  let exited = false;
  void sentry.exited.then(() => (exited = true));
  // Sentry writes the bundle, then listens; the healthz answers once both are done.
  while (!(
    existsSync(anchors) &&
    (await fetch(`http://127.0.0.1:${healthzPort}/healthz`).then(
      (r) => r.ok,
      () => false,
    ))
  )) {
    if (exited || Date.now() > deadline) throw new Error(`sentry did not start (see ${options.logFile})`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return { ...sentry, sentryAddress: `127.0.0.1:${port}`, trustAnchors: readFileSync(anchors, 'utf8'), tokenSigningKey };
}

import { waitForHttp } from './processes.js';
import { setInRotation, type Registry } from './rotation.js';
import type { Lifecycle, StackMember } from './supervisor.js';

/**
 * How often the launcher asks each app whether it is ready, to route to it or
 * not (see rotation.ts). The apps' drain after SIGTERM must outlast one period
 * plus the registry write: LOCAL_DRAIN_MS, unless the run file sets SHUTDOWN_DRAIN_MS.
 */
export const READINESS_PERIOD_MS = 500;

/** Waits until the app, then its sidecar, answer their health checks; `status` says how it went. */
export async function checkHealth(member: StackMember): Promise<void> {
  const { app } = member;
  try {
    await waitForHttp(`http://127.0.0.1:${app.appPort}${app.appHealthCheckPath}`, { timeoutMs: 90_000, abortIf: member.process.exited });
    member.timings.appReadyAt ??= Date.now();
    await waitForHttp(`http://127.0.0.1:${app.daprHttpPort}/v1.0/healthz`, { timeoutMs: 60_000, abortIf: member.sidecar.exited });
    member.timings.sidecarReadyAt ??= Date.now();
    const ready = await fetch(`http://127.0.0.1:${app.appPort}/readyz`).then(
      (r) => r.status,
      () => 0,
    );
    member.status = ready === 200 ? 'healthy' : `alive, /readyz ${ready}`;
  } catch (error) {
    member.status = `FAILED: ${(error as Error).message}`;
  }
}

/**
 * Readiness-aware routing (rotation.ts), every READINESS_PERIOD_MS until the stack stops: an
 * instance is out of rotation while its /readyz fails (draining, starting, dead), in when it answers
 * 200 and its own sidecar agrees.
 */
export function watchReadiness(
  member: StackMember,
  registry: Registry | undefined,
  lifecycle: Lifecycle,
  log: (message: string) => void,
): void {
  const { app } = member;
  const port = app.daprInternalGrpcPort;
  if (!registry || port === undefined) return;
  const round = async () => {
    if (lifecycle.stopping) return;
    // Ready for callers: the app says so, and its own sidecar's health check agrees (until its next
    // probe, up to 3 s after the app is back, daprd refuses to invoke an app it saw down).
    const ready =
      member.sidecar.appHealthy() === true &&
      (await fetch(`http://127.0.0.1:${app.appPort}/readyz`, { signal: AbortSignal.timeout(READINESS_PERIOD_MS * 2) }).then(
        (r) => r.status === 200,
        () => false,
      ));
    // Out is re-asserted on every failed probe: a restarted sidecar registers itself as routable.
    if (!lifecycle.stopping && (!ready || member.inRotation !== true)) {
      try {
        const changed = await setInRotation(registry, app.appId, port, ready);
        if (changed || ready) {
          if (member.inRotation !== ready && member.inRotation !== undefined) {
            log(`${app.instanceName ?? app.appId} ${ready ? 'ready: routed to again' : 'not ready: taken out of rotation'}`);
          }
          member.inRotation = ready;
        }
      } catch (error) {
        log(`${app.instanceName ?? app.appId}: ${(error as Error).message}`);
      }
    }
    lifecycle.later(READINESS_PERIOD_MS, () => void round());
  };
  void round();
}

/** Polls `condition` every 100 ms until it holds or `timeoutMs` passed (no error: the caller looks again). */
export async function until(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
}

import { waitForHttp } from './processes.js';
import { setInRotation, type Registry } from './rotation.js';
import type { Lifecycle, StackMember } from './supervisor.js';

/**
 * How often the launcher asks each app whether it is ready, to route to it or
 * not (see rotation.ts). The apps' drain after SIGTERM must outlast one period
 * plus the registry write: LOCAL_DRAIN_MS, unless the run file sets SHUTDOWN_DRAIN_MS.
 */
export const READINESS_PERIOD_MS = 500;

/** What one readiness probe saw: a 200, another answer (503 while draining), no connection, or no answer in time. */
export type ProbeResult = 'ready' | 'not-ready' | 'refused' | 'timeout';

/** Slow answers in a row that take an instance out: one slow probe on a busy machine is not an outage (Kubernetes waits for 3 failures). */
export const TIMEOUTS_BEFORE_OUT = 2;

/**
 * Whether an instance should be routed to after a probe, or `undefined` to leave it as it is: a
 * draining (non-200) or refused instance goes out at once, a slow one only after
 * TIMEOUTS_BEFORE_OUT timeouts in a row.
 */
export function rotationAfterProbe(probe: ProbeResult, timeoutsInARow: number): { ready: boolean | undefined; timeoutsInARow: number } {
  if (probe === 'timeout') {
    const timeouts = timeoutsInARow + 1;
    return { ready: timeouts >= TIMEOUTS_BEFORE_OUT ? false : undefined, timeoutsInARow: timeouts };
  }
  return { ready: probe === 'ready', timeoutsInARow: 0 };
}

/** One GET of an app's /readyz, classified for rotationAfterProbe. */
export async function probeReadiness(url: string, timeoutMs: number): Promise<ProbeResult> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    await response.body?.cancel();
    return response.status === 200 ? 'ready' : 'not-ready';
  } catch (error) {
    return (error as Error).name === 'TimeoutError' ? 'timeout' : 'refused';
  }
}

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
 * instance is out of rotation while its /readyz fails (draining, starting, dead; slow only when
 * slow twice in a row), in when it answers 200 and its own sidecar agrees.
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
  let timeoutsInARow = 0;
  const round = async () => {
    if (lifecycle.stopping) return;
    // Ready for callers: the app says so, and its own sidecar's health check agrees (until its next
    // probe, up to 3 s after the app is back, daprd refuses to invoke an app it saw down).
    let ready: boolean | undefined = false;
    if (member.sidecar.appHealthy() === true) {
      const verdict = rotationAfterProbe(
        await probeReadiness(`http://127.0.0.1:${app.appPort}/readyz`, READINESS_PERIOD_MS * 2),
        timeoutsInARow,
      );
      timeoutsInARow = verdict.timeoutsInARow;
      ready = verdict.ready;
    } else {
      timeoutsInARow = 0;
    }
    if (ready === undefined) {
      lifecycle.later(READINESS_PERIOD_MS, () => void round());
      return;
    }
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

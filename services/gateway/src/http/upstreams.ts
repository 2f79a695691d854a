import { ROUTES } from '../domain/routes.js';

/**
 * Readiness: can the gateway's sidecar reach the services it routes to? Without it the gateway
 * would say ready while every call answers 502 (a sidecar whose name resolution or mTLS failed
 * still serves its own health endpoints). Probe: each routed service's /openapi.json by
 * invocation (public in the JWT policy, allowed for the gateway by every ACL), in parallel,
 * a short wait. Ready when at least one answers: one service down is a degraded gateway that
 * still serves the others, not a reason to take the entry point out of rotation. A success is
 * cached briefly so frequent probes cost one round trip every few seconds.
 */
export function upstreamCheck(options: {
  sidecarHttpPort: number;
  appIds?: string[];
  timeoutMs?: number;
  cacheMs?: number;
}): () => Promise<void> {
  const appIds = options.appIds ?? [...new Set(ROUTES.map((route) => route.appId))];
  let reachedAt = -Infinity;
  return async () => {
    if (Date.now() - reachedAt < (options.cacheMs ?? 5_000)) return;
    const outcomes = await Promise.all(
      appIds.map(async (appId) => {
        // Never cut a probe short (no abort, the body read to its end): upstream daprd 1.18, as in
        // the Compose and Kubernetes images, crashes when a caller goes away while it streams an
        // answer (dapr/dapr#10371; our own build is patched). Its own invocation timeout ends a
        // stuck call; the probe only stops waiting for it.
        const probe = fetch(`http://127.0.0.1:${options.sidecarHttpPort}/v1.0/invoke/${appId}/method/openapi.json`).then(
          async (response) => {
            await response.arrayBuffer();
            return response.ok ? undefined : `${appId}: ${response.status}`;
          },
          (error: Error) => `${appId}: ${error.message}`,
        );
        let timer: NodeJS.Timeout | undefined;
        const late = new Promise<string>((resolve) => {
          timer = setTimeout(() => resolve(`${appId}: timeout`), options.timeoutMs ?? 1_500);
        });
        return Promise.race([probe, late]).finally(() => clearTimeout(timer));
      }),
    );
    if (outcomes.some((outcome) => outcome === undefined)) {
      reachedAt = Date.now();
      return;
    }
    throw new Error(`no routed service reachable through the sidecar (${outcomes.join(', ')})`);
  };
}

/** Resolves once the check passes, or after `waitMs` (the caller then serves, not ready). */
export async function waitFor(check: () => Promise<void>, waitMs: number, intervalMs = 500): Promise<boolean> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    try {
      await check();
      return true;
    } catch {
      if (Date.now() >= deadline) return false;
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  }
}

/**
 * Proves the sidecar's JWT policy is in force: an unauthenticated invocation
 * of a protected path must be refused with 401 by the sidecar itself.
 * (If the middleware component is missing or out of scope, daprd silently
 * runs the pipeline without it — measured while benchmarking, bench/jwt-policy.ts.)
 */
export async function assertPolicyInForce(sidecarHttpPort: number): Promise<void> {
  const response = await fetch(`http://127.0.0.1:${sidecarHttpPort}/v1.0/invoke/gateway/method/healthz`, {
    signal: AbortSignal.timeout(2_000),
  });
  await response.arrayBuffer();
  if (response.status !== 401) {
    throw new Error(`the sidecar does not enforce the JWT policy (unauthenticated probe got ${response.status}, expected 401)`);
  }
}

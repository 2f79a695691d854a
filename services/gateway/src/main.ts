import { z } from 'zod';
import { loadConfig, startService } from '@caregrid/platform';
import { createApp } from './app.js';
import { parseTrustedHops } from './domain/client-address.js';
import { defaultClinicAppDir } from './http/clinic-app.js';
import { assertPolicyInForce } from './http/policy-check.js';
import { upstreamCheck, waitFor } from './http/upstreams.js';

const settings = loadConfig({
  CORS_ALLOWED_ORIGINS: z.string().default(''),
  RATE_LIMIT_PER_MINUTE: z.coerce.number().int().positive().default(600),
  GATEWAY_BODY_LIMIT_BYTES: z.coerce
    .number()
    .int()
    .positive()
    .default(5 * 1024 * 1024),
  // Above the Resiliency invoke timeout (3 s + retries): the sidecar answers first.
  UPSTREAM_TIMEOUT_MS: z.coerce.number().int().positive().default(15_000),
  // At start, how long to wait for a routed service to answer through the sidecar before
  // serving anyway (then /readyz stays 503 until one does): services start alongside the gateway.
  UPSTREAM_WAIT_MS: z.coerce.number().int().nonnegative().default(30_000),
  // The public entry's own server limits (Node's defaults: 60 s for headers, 300 s for a request,
  // no cap on connections). A client trickling its headers or body holds a socket no longer than
  // its timeout (slowloris); the request time covers a body of GATEWAY_BODY_LIMIT_BYTES on a slow
  // line. Idle keep-alive outlasts the 60 s idle timeout of common load balancers, so they close first.
  GATEWAY_HEADERS_TIMEOUT_MS: z.coerce.number().int().positive().default(10_000),
  GATEWAY_REQUEST_TIMEOUT_MS: z.coerce.number().int().positive().default(60_000),
  GATEWAY_KEEP_ALIVE_TIMEOUT_MS: z.coerce.number().int().positive().default(65_000),
  GATEWAY_MAX_CONNECTIONS: z.coerce.number().int().positive().default(4_096),
  // The built clinic app (npm run build:app), served at /app.
  CLINIC_APP_DIR: z.string().min(1).default(defaultClinicAppDir()),
  // How many proxies of ours append to X-Forwarded-For in front of the gateway (the ingress: 1);
  // 0: the socket peer is the client. A typo fails the start instead of trusting the wrong hops.
  TRUSTED_HOPS: z
    .string()
    .default('0')
    .transform((value, ctx) => {
      try {
        return parseTrustedHops(value);
      } catch (error) {
        ctx.addIssue({ code: 'custom', message: (error as Error).message });
        return z.NEVER;
      }
    }),
  // Replaced by TRUSTED_HOPS: a deployment still setting it would silently trust no proxy and
  // put every client behind its ingress into one rate-limit bucket; it fails the start instead.
  TRUSTED_PROXIES: z.literal('', { error: 'replaced by TRUSTED_HOPS (how many proxies append to X-Forwarded-For); unset it' }).optional(),
});

if (settings.GATEWAY_HEADERS_TIMEOUT_MS > settings.GATEWAY_REQUEST_TIMEOUT_MS) {
  console.error(
    'Invalid configuration:\n  - GATEWAY_HEADERS_TIMEOUT_MS: must not exceed GATEWAY_REQUEST_TIMEOUT_MS (the headers are part of the request)',
  );
  process.exit(1);
}

await startService({
  serverLimits: {
    headersTimeoutMs: settings.GATEWAY_HEADERS_TIMEOUT_MS,
    requestTimeoutMs: settings.GATEWAY_REQUEST_TIMEOUT_MS,
    keepAliveTimeoutMs: settings.GATEWAY_KEEP_ALIVE_TIMEOUT_MS,
    maxConnections: settings.GATEWAY_MAX_CONNECTIONS,
  },
  createApp: async ({ logger, config, readiness, isShuttingDown }) => {
    const policyCheck = { name: 'jwt-policy', check: () => assertPolicyInForce(config.DAPR_HTTP_PORT) };
    // daprd runs a pipeline whose middleware failed to load (missing or out of scope) without it:
    // fail open. A gateway whose sidecar does not enforce the JWT policy must not serve at all.
    await policyCheck.check();
    const upstreams = { name: 'upstreams', check: upstreamCheck({ sidecarHttpPort: config.DAPR_HTTP_PORT }) };
    if (!(await waitFor(upstreams.check, settings.UPSTREAM_WAIT_MS))) {
      logger.warn('no routed service answers through the sidecar yet: serving, not ready (see /readyz)');
    }
    return createApp({
      logger,
      readiness: [...(readiness ?? []), policyCheck, upstreams],
      isShuttingDown,
      settings: {
        sidecarHttpPort: config.DAPR_HTTP_PORT,
        corsOrigins: settings.CORS_ALLOWED_ORIGINS.split(',')
          .map((o) => o.trim())
          .filter(Boolean),
        rateLimitPerMinute: settings.RATE_LIMIT_PER_MINUTE,
        bodyLimitBytes: settings.GATEWAY_BODY_LIMIT_BYTES,
        upstreamTimeoutMs: settings.UPSTREAM_TIMEOUT_MS,
        trustedHops: settings.TRUSTED_HOPS,
        clinicAppDir: settings.CLINIC_APP_DIR,
      },
    });
  },
});

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

await startService({
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

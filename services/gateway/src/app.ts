import type { Request, RequestHandler } from 'express';
import { sendOutcome } from '@caregrid/fhir/http';
import { createServiceApp, PROBLEM_CONTENT_TYPE, problemType, type ReadinessCheck, type Logger } from '@caregrid/platform';
import { clientAddress } from './domain/client-address.js';
import { TokenBuckets } from './domain/token-bucket.js';
import { clinicAppRouter } from './http/clinic-app.js';
import { cors } from './http/cors.js';
import { docsRouter } from './http/docs.js';
import { edgeHeaders } from './http/edge-headers.js';
import { fhirMetadata, fhirNotFound } from './http/fhir.js';
import { fhirComposition } from './http/fhir-compose.js';
import { isFhirPath, proxyToServices } from './http/proxy.js';

export type GatewaySettings = {
  sidecarHttpPort: number;
  corsOrigins: string[];
  rateLimitPerMinute: number;
  bodyLimitBytes: number;
  upstreamTimeoutMs: number;
  /** How many proxies of ours append to X-Forwarded-For in front of the gateway (0: the socket peer is the client). */
  trustedHops: number;
  /** The built clinic app (index.html and assets/), served at /app. */
  clinicAppDir: string;
};

function rateLimit(perMinute: number, clientOf: (req: Request) => string): RequestHandler {
  const buckets = new TokenBuckets(perMinute);
  return (req, res, next) => {
    const wait = buckets.take(clientOf(req));
    if (wait === 0) {
      next();
      return;
    }
    const detail = `Rate limit: ${perMinute} requests a minute`;
    if (isFhirPath(req.path)) {
      sendOutcome(
        res,
        { type: problemType('throttled'), title: 'Too many requests', status: 429, detail },
        { 'retry-after': String(wait) },
      );
      return;
    }
    res
      .status(429)
      .set('retry-after', String(wait))
      .type(PROBLEM_CONTENT_TYPE)
      .send(
        JSON.stringify({
          type: problemType('throttled'),
          title: 'Too many requests',
          status: 429,
          detail,
        }),
      );
  };
}

export function createApp(deps: {
  logger: Logger;
  settings: GatewaySettings;
  readiness?: ReadinessCheck[];
  isShuttingDown?: () => boolean;
}) {
  const { settings, logger } = deps;
  const clientOf = (req: Request) => clientAddress(req.socket.remoteAddress, req.headers['x-forwarded-for'], settings.trustedHops);
  const app = createServiceApp({
    service: 'gateway',
    deps: { logger, readiness: deps.readiness, isShuttingDown: deps.isShuttingDown },
    parseJsonBodies: false,
    publicEntry: true,
    before: [edgeHeaders, cors(settings.corsOrigins)],
    mount: (express) => {
      express.use(docsRouter({ sidecarHttpPort: settings.sidecarHttpPort, logger }));
      express.use(clinicAppRouter({ dir: settings.clinicAppDir }));
      express.use(['/api', '/.well-known'], rateLimit(settings.rateLimitPerMinute, clientOf));
      express.use(fhirMetadata({}));
      const forwarding = {
        sidecarHttpPort: settings.sidecarHttpPort,
        timeoutMs: settings.upstreamTimeoutMs,
        bodyLimitBytes: settings.bodyLimitBytes,
        logger,
        clientOf,
      };
      // _include, _revinclude and $everything: composed from the services' FHIR routes, with the caller's token on each.
      express.use(fhirComposition(forwarding));
      express.use(proxyToServices(forwarding));
      express.use('/api/fhir', fhirNotFound);
    },
  });
  return app;
}

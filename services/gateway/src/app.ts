import type { RequestHandler } from 'express';
import { createServiceApp, PROBLEM_CONTENT_TYPE, problemType, type ReadinessCheck, type Logger } from '@caregrid/platform';
import { TokenBuckets } from './domain/token-bucket.js';
import { cors } from './http/cors.js';
import { docsRouter } from './http/docs.js';
import { proxyToServices } from './http/proxy.js';

export type GatewaySettings = {
  sidecarHttpPort: number;
  corsOrigins: string[];
  rateLimitPerMinute: number;
  bodyLimitBytes: number;
  upstreamTimeoutMs: number;
};

function rateLimit(perMinute: number): RequestHandler {
  const buckets = new TokenBuckets(perMinute);
  return (req, res, next) => {
    const wait = buckets.take(req.socket.remoteAddress ?? 'unknown');
    if (wait === 0) {
      next();
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
          detail: `Rate limit: ${perMinute} requests a minute`,
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
  const app = createServiceApp({
    service: 'gateway',
    logger,
    parseJsonBodies: false,
    before: [cors(settings.corsOrigins)],
    readiness: deps.readiness,
    isShuttingDown: deps.isShuttingDown,
    mount: (express) => {
      express.use(docsRouter({ sidecarHttpPort: settings.sidecarHttpPort, logger }));
      express.use(['/api', '/.well-known'], rateLimit(settings.rateLimitPerMinute));
      express.use(
        proxyToServices({
          sidecarHttpPort: settings.sidecarHttpPort,
          timeoutMs: settings.upstreamTimeoutMs,
          bodyLimitBytes: settings.bodyLimitBytes,
          logger,
        }),
      );
    },
  });
  return app;
}

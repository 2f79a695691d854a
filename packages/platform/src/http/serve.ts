import type { Express } from 'express';
import { createServer, type Server } from 'node:http';
import type { Logger } from 'pino';

export type Closer = { name: string; close: () => Promise<unknown> };

export type RunningServer = { server: Server; port: number; stop: () => Promise<void> };

/**
 * What one connection may hold of the server: how long its headers, and its whole request, may
 * take to arrive (a client trickling bytes holds a socket no longer than that), how long an idle
 * keep-alive connection stays open, and how many connections are served at once (beyond it, new
 * ones are closed at once). Node's defaults when omitted: 60 s, 300 s, 5 s (65 s here), no cap.
 */
export type ServerLimits = { headersTimeoutMs: number; requestTimeoutMs: number; keepAliveTimeoutMs: number; maxConnections: number };

/**
 * Listens on the app's port and stops gracefully on SIGTERM/SIGINT in three
 * steps: readiness turns 503 while requests are still served for `drainMs`
 * (load balancers take it out of rotation meanwhile); then the listener closes
 * and in-flight requests finish; then closers run (pools, clients) in reverse
 * order. A stop that overruns `timeoutMs` (counted after the drain) exits hard.
 */
export async function serve(
  app: Express,
  options: {
    port: number;
    host?: string;
    logger: Logger;
    closers?: Closer[];
    timeoutMs?: number;
    drainMs?: number;
    onShutdownStart?: () => void;
    limits?: ServerLimits;
  },
): Promise<RunningServer> {
  const { logger, closers = [], timeoutMs = 10_000, drainMs = 0, limits } = options;
  const server = await new Promise<Server>((resolve, reject) => {
    const created = limits
      ? createServer(
          {
            headersTimeout: limits.headersTimeoutMs,
            requestTimeout: limits.requestTimeoutMs,
            // Node enforces both timeouts only when it sweeps its connections (every 30 s by default):
            // sweep often enough that a timeout means about what it says.
            connectionsCheckingInterval: Math.max(100, Math.min(30_000, Math.floor(limits.headersTimeoutMs / 4))),
          },
          app,
        )
      : createServer(app);
    created.once('error', reject);
    created.listen(options.port, options.host ?? '127.0.0.1', () => {
      created.off('error', reject);
      resolve(created);
    });
  });
  server.keepAliveTimeout = limits?.keepAliveTimeoutMs ?? 65_000;
  if (limits) server.maxConnections = limits.maxConnections;
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  logger.info({ port }, 'listening');

  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      options.onShutdownStart?.();
      if (drainMs > 0) {
        logger.info({ drainMs }, 'draining: not ready, still serving');
        await new Promise((resolve) => setTimeout(resolve, drainMs));
      }
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
      for (const closer of [...closers].reverse()) {
        try {
          await closer.close();
        } catch (error) {
          logger.warn({ err: error, closer: closer.name }, 'closer failed');
        }
      }
      logger.info('stopped');
    })();
    return stopping;
  };

  const onSignal = (signal: NodeJS.Signals) => {
    logger.info({ signal }, 'shutting down');
    const force = setTimeout(() => {
      logger.error('shutdown timed out; exiting');
      process.exit(1);
    }, drainMs + timeoutMs);
    force.unref();
    void stop().then(() => process.exit(0));
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  return { server, port, stop };
}

import express, { type ErrorRequestHandler, type Express, type RequestHandler } from 'express';
import type { Logger } from 'pino';
import { isValidTraceparent, newRequestContext, runWithContext } from '../context.js';
import { endSpan, SpanKind, startSpan } from '../tracing.js';
import { NotFoundError } from '../errors.js';
import { refuseNul } from './nul-guard.js';
import { buildOpenApiDocument } from './openapi.js';
import { PROBLEM_CONTENT_TYPE, toProblem } from './problem.js';
import { AUDIT_SINK, TOKEN_VERIFIER, type ApiRouter } from './routes.js';
import { outboxOpsRoutes } from './outbox-ops.js';
import { backlogRoutes, metricsHandler, readBacklog } from './backlog.js';
import { deadLetterRoutes, startDeadLetterRedrive, type DeadLetterHandling, type DeadLetterStore } from '../events/dead-letters.js';
import { IDEMPOTENCY, type IdempotencyDependencies } from './idempotency.js';
import type { EventApplier } from '../events/delivery.js';
import type { ServiceAppDependencies } from '../boot.js';

export type ReadinessCheck = { name: string; check: () => Promise<unknown> };

/** What createServiceApp takes from the service's createApp's dependencies (all but its database). */
export type ServiceAppHooks = Omit<ServiceAppDependencies<unknown>, 'db'>;

/**
 * A part of a service's API that is more than routers: middleware before every router, and
 * handlers after them (before the 404 and error handlers), given the app's logger.
 */
export type ServiceApiPart = {
  routers: ApiRouter[];
  before?: RequestHandler[];
  mount?: (app: Express, logger: Logger) => void;
};

/**
 * A subscriber's part: its subscription routes, the applier of its events (dispatching as the
 * routes do, for the re-drive of a dead letter), and the store of its parked dead letters.
 */
export type ServiceSubscriptions = { routes: ApiRouter; apply: EventApplier; deadLetters: DeadLetterStore };

export type ServiceAppOptions = {
  service: string;
  version?: string;
  /**
   * The service's createApp's dependencies, whole: logger, token verifier, readiness checks,
   * shutdown flag, audit sink, idempotency store, outbox and its wake-up, dead-letter re-drive
   * interval. A service that differs passes its own in their place (`{ ...deps, audit }`).
   */
  deps: ServiceAppHooks;
  /** The service's JSON API. */
  json?: ApiRouter | ApiRouter[];
  /**
   * The service's FHIR API, as `fhirApi` of `@caregrid/fhir/http` builds it: that package
   * depends on this one, so its body check and OperationOutcome errors come in as a part.
   */
  fhir?: ServiceApiPart;
  /**
   * A subscriber's subscriptions: their routes, and its dead letters: the drain of its
   * dead-letter topics, their admin routes, and their automatic re-drive every
   * `deps.deadLetterRedriveMs` (0 or absent: only by an admin).
   */
  subscriptions?: ServiceSubscriptions;
  bodyLimit?: string;
  /** false for apps that stream bodies through untouched (the gateway). */
  parseJsonBodies?: boolean;
  /** The gateway: its callers are clients, so each request gets our own id and a new trace (newRequestContext). */
  publicEntry?: boolean;
  /** Middleware that runs before the routers (e.g. CORS). */
  before?: RequestHandler[];
  /** Mounts handlers that are not ApiRouter routes (proxying, docs), before the 404 and error handlers. */
  mount?: (app: Express) => void;
};

const READINESS_TIMEOUT_MS = 2_000;

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

// Asked every few seconds by probes and scrapers: no span, no access-log line.
const PROBES = new Set(['/healthz', '/readyz', '/metrics']);

/**
 * The request's context, and its server span as the context's traceparent: continuing the
 * caller's trace behind the gateway, a new trace at the gateway (a client's traceparent would let
 * it choose our trace ids and force sampling).
 */
const requestContext =
  (publicEntry: boolean): RequestHandler =>
  (req, res, next) => {
    const context = newRequestContext(req.headers, { publicEntry });
    res.setHeader('x-request-id', context.requestId);
    if (PROBES.has(req.path)) {
      runWithContext(context, next);
      return;
    }
    const incoming = !publicEntry && isValidTraceparent(req.header('traceparent')) ? context.traceparent : undefined;
    const { span, traceparent } = startSpan(
      req.method,
      SpanKind.SERVER,
      {
        'http.request.method': req.method,
        'url.path': req.path,
        'caregrid.request_id': context.requestId,
        ...(context.clientRequestId ? { 'caregrid.client_request_id': context.clientRequestId } : {}),
      },
      incoming,
    );
    let ended = false;
    const end = () => {
      if (ended) return;
      ended = true;
      // The route is known only now: name the span by it (a template, never ids).
      const route = req.route ? `${req.baseUrl}${String(req.route.path)}` : undefined;
      if (route) span.updateName(`${req.method} ${route}`).setAttribute('http.route', route);
      span.setAttribute('http.response.status_code', res.statusCode);
      endSpan(
        span,
        res.statusCode >= 500
          ? `HTTP ${res.statusCode}`
          : res.writableFinished
            ? undefined
            : 'connection closed before the answer was sent',
      );
    };
    res.on('finish', end);
    res.on('close', end);
    runWithContext({ ...context, traceparent }, next);
  };

const accessLog =
  (logger: Logger): RequestHandler =>
  (req, res, next) => {
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      if (PROBES.has(req.path)) return;
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      logger.info({ method: req.method, path: req.originalUrl, status: res.statusCode, ms: Math.round(ms * 10) / 10 }, 'request');
    });
    next();
  };

const errorHandler =
  (logger: Logger): ErrorRequestHandler =>
  (error, req, res, _next) => {
    const { problem, headers, unexpected } = toProblem(error, req.originalUrl);
    if (unexpected) logger.error({ err: error }, 'unhandled error');
    // A dependency failing is an operator's business even though the answer is a clean 503.
    else if (problem.status === 503) logger.warn({ err: error, cause: (error as Error).cause }, 'dependency unavailable');
    if (res.headersSent) {
      res.destroy();
      return;
    }
    res.status(problem.status).set(headers).type(PROBLEM_CONTENT_TYPE).send(JSON.stringify(problem));
  };

const JSON_TYPES = ['application/json', 'application/*+json'];

/**
 * JSON bodies up to the app's limit, or a route's own where it declares one (an event delivery
 * carries a whole batch): chosen by method and path, before the body is read.
 */
function jsonBodies(routers: ApiRouter[], defaultLimit: string): RequestHandler {
  const parse = express.json({ limit: defaultLimit, type: JSON_TYPES });
  const byRoute = new Map(
    routers
      .flatMap((router) => router.routes)
      .filter((route) => route.bodyLimit !== undefined)
      .map((route) => [`${route.method.toUpperCase()} ${route.path}`, express.json({ limit: route.bodyLimit, type: JSON_TYPES })]),
  );
  if (byRoute.size === 0) return parse;
  return (req, res, next) => (byRoute.get(`${req.method} ${req.path}`) ?? parse)(req, res, next);
}

/**
 * The Express app every service starts from: request context (request id,
 * traceparent, identity), JSON body limit, no NUL characters in body or query, health and readiness, the OpenAPI
 * document built from the routers' zod schemas, and the central error handler. A service hands
 * it its parts (JSON API, FHIR API, subscriptions) and its dependencies; the app mounts them,
 * with the operations routes its outbox and dead letters call for.
 */
export function createServiceApp(options: ServiceAppOptions): Express {
  const { deps, fhir, subscriptions } = options;
  const { logger, readiness = [], outbox } = deps;
  const deadLetters: (DeadLetterHandling & { redriveMs?: number }) | undefined = subscriptions
    ? { store: subscriptions.deadLetters, apply: subscriptions.apply, logger, redriveMs: deps.deadLetterRedriveMs }
    : undefined;
  const redrive = deadLetters
    ? startDeadLetterRedrive({ ...deadLetters, intervalMs: deadLetters.redriveMs ?? 0, isShuttingDown: deps.isShuttingDown })
    : undefined;
  const backlog = outbox || deadLetters ? readBacklog(options.service, { outbox, deadLetters: deadLetters?.store }) : undefined;
  const routers = [
    ...[options.json ?? []].flat(),
    ...(fhir?.routers ?? []),
    ...(subscriptions ? [subscriptions.routes] : []),
    ...(outbox ? [outboxOpsRoutes(options.service, outbox, deps.onEventsQueued)] : []),
    ...(deadLetters ? [deadLetterRoutes(options.service, { ...deadLetters, onScheduled: () => redrive?.kick() })] : []),
    ...(backlog ? [backlogRoutes(options.service, backlog)] : []),
  ];
  const app = express();
  app.disable('x-powered-by');
  if (routers.some((router) => router.audits) && !deps.audit) throw new Error(`${options.service} audits access but has no audit sink`);
  app.locals[AUDIT_SINK] = deps.audit;
  app.locals[TOKEN_VERIFIER] = deps.tokens;
  if (routers.some((router) => router.idempotent) && !deps.idempotency) {
    throw new Error(`${options.service} takes Idempotency-Keys but has no idempotency store`);
  }
  app.locals[IDEMPOTENCY] = deps.idempotency
    ? ({ store: deps.idempotency, onCommitted: deps.onEventsQueued } satisfies IdempotencyDependencies)
    : undefined;
  app.set('query parser', 'extended');
  app.use(requestContext(options.publicEntry ?? false));
  app.use(accessLog(logger));
  if (options.parseJsonBodies !== false) {
    app.use(jsonBodies(routers, options.bodyLimit ?? '100kb'));
    app.use(refuseNul);
  }
  for (const handler of [...(options.before ?? []), ...(fhir?.before ?? [])]) app.use(handler);

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok', service: options.service });
  });

  // Not an ApiRouter route: scraped on the app's own port, never reached through the gateway.
  if (backlog) app.get('/metrics', metricsHandler(backlog));

  app.get('/readyz', async (_req, res) => {
    if (deps.isShuttingDown?.()) {
      res.status(503).json({ status: 'shutting-down', checks: {} });
      return;
    }
    const results = await Promise.all(
      readiness.map(async ({ name, check }) => {
        try {
          await withTimeout(check(), READINESS_TIMEOUT_MS);
          return [name, 'ok'] as const;
        } catch (error) {
          return [name, `failed: ${(error as Error).message}`] as const;
        }
      }),
    );
    const ready = results.every(([, outcome]) => outcome === 'ok');
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'not-ready', checks: Object.fromEntries(results) });
  });

  const openapi = buildOpenApiDocument(
    { title: options.service, version: options.version ?? '0.1.0' },
    routers.flatMap((router) => router.routes),
  );
  app.get('/openapi.json', (_req, res) => {
    res.json(openapi);
  });

  for (const router of routers) app.use(router.router);
  options.mount?.(app);
  fhir?.mount?.(app, logger);

  app.use((req, _res, next) => next(new NotFoundError('route', `${req.method} ${req.path}`)));
  app.use(errorHandler(logger));
  return app;
}

import type { Express } from 'express';
import { loadConfig, type BaseConfig, ConfigError } from './config.js';
import { Sidecar } from './dapr/sidecar.js';
import { signerKeySet, TokenVerifier } from './access/tokens.js';
import { outboxAuditSink, type AuditSink } from './audit/trail.js';
import { OutboxRelay, type OutboxStore } from './data/outbox.js';
import type { ReadinessCheck } from './http/app.js';
import type { IdempotencyStore } from './http/idempotency.js';
import { guardWithAppApiToken } from './http/app-token.js';
import { serve, type Closer, type RunningServer, type ServerLimits } from './http/serve.js';
import { createLogger, type Logger } from './logger.js';
import { startTracing } from './tracing.js';

/** A service's database, opened from the URL in its secret and migrated. */
export type OpenedDatabase<Db> = {
  db: Db;
  check: () => Promise<unknown>;
  close: () => Promise<unknown>;
  outbox?: OutboxStore;
  idempotency?: IdempotencyStore;
};
/** `secret` is the service's whole secret, for a service with more than one store (analytics-service's audit trail). */
export type DatabaseOpener<Db> = (url: string, logger: Logger, secret: Record<string, string>) => Promise<OpenedDatabase<Db>>;

/** What a service's createApp receives (and hands whole to createServiceApp); tests build the same with a test database and sidecar. */
export type ServiceAppDependencies<Db> = {
  db: Db;
  logger: Logger;
  readiness?: ReadinessCheck[];
  /** Called after a commit that queued events: wakes the outbox relay. */
  onEventsQueued?: () => void;
  /** The database's outbox, for the admin routes on parked events. */
  outbox?: OutboxStore;
  /** Set by graceful shutdown: /readyz then answers 503, so load balancers stop sending traffic first. */
  isShuttingDown?: () => boolean;
  /** Where audited routes record access to patient data: the service's outbox (required when a router audits). */
  audit?: AuditSink;
  /** How often a subscriber re-drives its due dead letters by itself (0: only an admin does). */
  deadLetterRedriveMs?: number;
  /** Where idempotent routes keep Idempotency-Keys and their answers: the service's database. */
  idempotency?: IdempotencyStore;
  /** Verifies the bearer tokens the gateway forwards, against auth-service's key set: without it, no caller is a user. */
  tokens?: TokenVerifier;
};

/** The service's secret (named after its app-id) holds more than the database URL for some services. */
export type ServiceContext<Db> = ServiceAppDependencies<Db> & { config: BaseConfig; sidecar: Sidecar; secret: Record<string, string> };

/**
 * The start sequence every service shares: config → sidecar → secret →
 * database + migrations → outbox relay → app → listen, with graceful stop in
 * reverse. Fails fast with a readable message when a step cannot complete.
 */
export async function startService<Db = undefined>(spec: {
  /** Omitted by services without a database of their own (the gateway). */
  database?: DatabaseOpener<Db>;
  createApp: (context: ServiceContext<Db>) => Express | Promise<Express>;
  /** Timeouts and a connection cap for the app's HTTP server (the gateway, the public entry, sets them). */
  serverLimits?: ServerLimits;
}): Promise<RunningServer> {
  let config: BaseConfig;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      process.exit(1);
    }
    throw error;
  }
  const logger = createLogger(config.APP_ID, config.LOG_LEVEL);
  const tracing = await startTracing(config.APP_ID);
  if (tracing.enabled) logger.info('exporting spans to Zipkin (OTEL_EXPORTER_ZIPKIN_ENDPOINT)');
  try {
    const sidecar = new Sidecar({
      appId: config.APP_ID,
      httpPort: config.DAPR_HTTP_PORT,
      pubsubName: config.PUBSUB_NAME,
      secretStoreName: config.SECRET_STORE_NAME,
    });
    logger.info('waiting for the sidecar');
    await sidecar.waitUntilReady();
    // A service without a database may have no secret at all.
    const secret = spec.database
      ? await sidecar.getSecret(config.APP_ID)
      : await sidecar.getSecret(config.APP_ID).catch(() => ({}) as Record<string, string>);
    let database: OpenedDatabase<Db> = { db: undefined as Db, check: async () => undefined, close: async () => undefined };
    if (spec.database) {
      if (!secret.databaseUrl) throw new Error(`secret "${config.APP_ID}" has no databaseUrl key`);
      database = await spec.database(secret.databaseUrl, logger, secret);
    }
    const relay = database.outbox
      ? new OutboxRelay(database.outbox, sidecar, logger, { claimMs: config.OUTBOX_CLAIM_MS, maxAttempts: config.OUTBOX_MAX_ATTEMPTS })
      : undefined;
    relay?.start();

    let shuttingDown = false;
    const readiness: ReadinessCheck[] = [
      ...(spec.database ? [{ name: 'database', check: database.check }] : []),
      {
        name: 'sidecar',
        check: async () => {
          if (!(await sidecar.healthy())) throw new Error('sidecar is not healthy');
        },
      },
    ];
    const app = await spec.createApp({
      config,
      secret,
      logger,
      sidecar,
      db: database.db,
      readiness,
      onEventsQueued: () => relay?.kick(),
      // No kick: entries ride the relay's next pass (within a second), batched, off the request's path.
      audit: database.outbox ? outboxAuditSink((events) => database.outbox!.appendMany(events)) : undefined,
      outbox: database.outbox,
      deadLetterRedriveMs: config.DEAD_LETTER_REDRIVE_MS,
      idempotency: database.idempotency,
      // Asked for the key set on the first user request, not at start: auth-service may start after us.
      tokens: new TokenVerifier(signerKeySet(sidecar)),
      isShuttingDown: () => shuttingDown,
    });
    const closers: Closer[] = [
      // Closed last (closers run in reverse): the spans of everything below are sent before the process ends.
      { name: 'tracing', close: tracing.shutdown },
      { name: 'sidecar client', close: () => sidecar.stop() },
      { name: 'database', close: database.close },
      ...(relay ? [{ name: 'outbox relay', close: () => relay.stop() }] : []),
    ];
    return await serve(config.APP_API_TOKEN ? guardWithAppApiToken(app, config.APP_API_TOKEN) : app, {
      port: config.APP_PORT,
      host: config.APP_BIND_ADDRESS,
      logger,
      closers,
      timeoutMs: config.SHUTDOWN_TIMEOUT_MS,
      drainMs: config.SHUTDOWN_DRAIN_MS,
      onShutdownStart: () => (shuttingDown = true),
      limits: spec.serverLimits,
    });
  } catch (error) {
    logger.fatal({ err: error }, 'service failed to start');
    process.exit(1);
  }
}

import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { z } from 'zod';
import { auditRecorded, MAX_EVENT_DATA_BYTES, type AuditEntry, type OutboxBacklog } from '@caregrid/contracts';
import { currentContext, outsideRequest, runWithContext } from '../context.js';
import { EventTooLargeError } from '../errors.js';
import { uuidv7 } from '../ids.js';
import type { Page } from '../pagination.js';
import { EventRefusedError, type PublishedEvent, type TracedEvent } from '../dapr/sidecar.js';

/**
 * Transactional outbox: a service writes its event into the `outbox` table in
 * the same transaction as the state change, and this relay publishes pending
 * rows through the sidecar. Broker down or a crash after commit loses nothing;
 * a row is marked published only after the sidecar accepted it, so delivery is
 * at least once and consumers dedupe by CloudEvent id (= row id).
 *
 * How rows travel (see claim() of the stores for the SQL):
 * - A relay CLAIMS a batch in a short transaction (claimed_by, claimed_until =
 *   now + lease), commits, publishes with no transaction or connection held,
 *   then marks what went out as published in another short statement. A relay
 *   that dies leaves its claims to expire; another relay then takes the rows
 *   (published twice at worst — consumers dedupe by id).
 * - Order is per subject (topic + subject = the aggregate; Kafka's partition
 *   key too), and several replicas relay side by side: a row is claimable only
 *   when no earlier unpublished row of its subject is parked or claimed by
 *   another live relay, and claims are taken one relay at a time (a lock held
 *   for the claim statement only). So a replica never publishes an aggregate's
 *   `updated` while another still holds its `created`, yet different
 *   aggregates are spread over replicas. Chosen over one leader relay per
 *   service: same proof obligation (a taken-over claim must wait for expiry),
 *   without a second lease to renew, and no idle replicas. A relay stops
 *   starting publishes when its claim has less than a third left, so its claim
 *   cannot expire under it in the normal case; a publish that hangs past the
 *   lease can at worst arrive after a newer row's, as a duplicate consumers
 *   already have by id.
 * - A claim goes out in bulk requests (daprd's bulk publish, one round trip
 *   for up to 100 events of a topic instead of one each), in waves of at most
 *   one event per subject (bulkWaves), so each subject stays in order. Subjects
 *   that failed before go one event at a time, after the others. A request
 *   retried after a partial failure may send its good events twice: the
 *   consumers' dedupe by id again.
 * - A failed publish holds the rest of that subject's batch back (order), the
 *   others still go out. It counts as an attempt (attempts, last_error) when
 *   the broker was seen working in the same pass, or when the sidecar refused
 *   the event itself (EventRefusedError, e.g. too large for Kafka), which no
 *   wait will change: a poison row thus parks in a quiet service too, and the
 *   relay does not back off for it. Any other failure in a pass that published
 *   nothing is taken for a broker outage, which fails every row and must not
 *   park them all. (No separate broker probe: daprd's /v1.0/healthz/outbound
 *   answers 204 with Kafka down, and a heartbeat could only go to the
 *   service's real topics, to their consumers.) After maxAttempts the row is PARKED:
 *   it no longer blocks other subjects; later rows of ITS subject stay held
 *   behind it (order is a promise) until an admin re-drives it
 *   (GET /ops/outbox shows parked rows with the count they hold).
 */
export type OutboxEvent = {
  id: string;
  topic: string;
  type: string;
  subject: string;
  data: unknown;
  time: Date;
  /** The trace of the request that wrote it (the request context's when omitted): published inside that trace. */
  traceparent?: string;
};
export type ClaimedEvent = OutboxEvent & { attempts: number };

/**
 * An event's data as stored and published: refused here, at the write, when it is larger than
 * any subscriber is sized for (every outbox insert of either database goes through this).
 */
export function serializedEventData(event: Pick<OutboxEvent, 'type' | 'data'>): string {
  const json = JSON.stringify(event.data);
  // Bytes only matter near the limit: a string of n UTF-16 units is at most 3n bytes.
  if (json.length * 3 > MAX_EVENT_DATA_BYTES) {
    const bytes = Buffer.byteLength(json);
    if (bytes > MAX_EVENT_DATA_BYTES) throw new EventTooLargeError(event.type, bytes, MAX_EVENT_DATA_BYTES);
  }
  return json;
}

/** An outbox row's values in column order (id, topic, type, subject, data, traceparent), for either database. */
export const outboxRowValues = (event: Omit<OutboxEvent, 'time'>) => [
  event.id,
  event.topic,
  event.type,
  event.subject,
  serializedEventData(event),
  event.traceparent ?? currentContext()?.traceparent ?? null,
];

/** What an admin sees of a parked row: never the payload, which can hold personal data. */
export type ParkedEvent = {
  id: string;
  topic: string;
  type: string;
  subject: string;
  attempts: number;
  lastError: string | null;
  createdAt: string;
  parkedAt: string;
  /** Later unpublished rows of the same subject waiting behind this one. */
  held: number;
};

/**
 * An outbox row as either engine's driver returns it: PostgreSQL types its columns, mysql2 may give
 * ids and counts as strings or numbers. One mapping for both stores, so a row means the same whatever
 * the engine (`data` decoded by the store: MariaDB returns JSON columns as text).
 */
export type OutboxRow = {
  id: unknown;
  topic: unknown;
  type: unknown;
  subject: unknown;
  data: unknown;
  created_at: Date;
  attempts: unknown;
  traceparent: unknown;
};

export const claimedEventOfRow = (r: OutboxRow): ClaimedEvent => ({
  id: String(r.id),
  topic: String(r.topic),
  type: String(r.type),
  subject: String(r.subject),
  data: r.data,
  time: r.created_at,
  attempts: Number(r.attempts),
  traceparent: r.traceparent ? String(r.traceparent) : undefined,
});

export type ParkedRow = Pick<OutboxRow, 'id' | 'topic' | 'type' | 'subject' | 'attempts' | 'created_at'> & {
  last_error: unknown;
  parked_at: Date;
  held: unknown;
};

export const parkedEventOfRow = (r: ParkedRow): ParkedEvent => ({
  id: String(r.id),
  topic: String(r.topic),
  type: String(r.type),
  subject: String(r.subject),
  attempts: Number(r.attempts),
  lastError: r.last_error === null || r.last_error === undefined ? null : String(r.last_error),
  createdAt: r.created_at.toISOString(),
  parkedAt: r.parked_at.toISOString(),
  held: Number(r.held),
});

export interface OutboxStore {
  /** Adds one event on its own (no surrounding state change), e.g. an audit entry written before a read is answered. */
  append(event: Omit<OutboxEvent, 'time'>): Promise<void>;
  /** Adds several events in one statement (audit entries of concurrent requests, see groupCommit). */
  appendMany(events: Omit<OutboxEvent, 'time'>[]): Promise<void>;
  /** Claims up to `limit` publishable rows for `relayId` for `leaseMs`, oldest first (see the ordering rule above). */
  claim(relayId: string, limit: number, leaseMs: number): Promise<ClaimedEvent[]>;
  markPublished(ids: string[]): Promise<void>;
  /** One failed attempt: attempts + 1, the error kept; parked once attempts reach `maxAttempts`. */
  recordFailure(id: string, error: string, maxAttempts: number): Promise<{ parked: boolean }>;
  /** Gives back the relay's claims on rows it did not publish, so any relay can take them now. */
  release(relayId: string): Promise<void>;
  listParked(options: { limit: number; after?: string }): Promise<Page<ParkedEvent>>;
  /** Un-parks a parked row (attempts reset) so the next pass publishes it; false when no such parked row. */
  redrive(id: string): Promise<boolean>;
  purgePublished(olderThan: Date): Promise<number>;
  /** What waits to be published, and the oldest of it (an operator's alert: GET /ops/backlog, /metrics). */
  backlog(): Promise<OutboxBacklog>;
}

/** What the relay needs of a sidecar (the platform's Sidecar). */
export type EventPublisher = {
  publish(event: PublishedEvent<unknown>): Promise<string>;
  /** Events of one topic in one request; answers those that failed, with their errors. Without it the relay publishes one at a time. */
  publishBulk?(topic: string, events: TracedEvent[]): Promise<Map<string, Error>>;
};

/** At most this many events, and about this much data, in one bulk publish (daprd takes 4 MB a request by default). */
export const BULK_PUBLISH_MAX_EVENTS = 100;
export const BULK_PUBLISH_MAX_BYTES = 1024 * 1024;

const subjectKey = (event: { topic: string; subject: string }) => `${event.topic}\u0000${event.subject}`;

/**
 * The waves a claim goes out in: each wave holds at most one event per subject (its next one), so
 * a subject's events are published one wave after another, in order, and a failure holds back
 * only what comes after it in its own subject. Within a wave, events are grouped by topic and cut
 * into bulk requests of at most `maxEvents` events and about `maxBytes` of data.
 */
export function bulkWaves<E extends { topic: string; subject: string; data: unknown }>(
  events: E[],
  limits: { maxEvents: number; maxBytes: number } = { maxEvents: BULK_PUBLISH_MAX_EVENTS, maxBytes: BULK_PUBLISH_MAX_BYTES },
): E[][][] {
  const waves: E[][][] = [];
  let queue = events;
  while (queue.length > 0) {
    const wave: E[] = [];
    const rest: E[] = [];
    const inWave = new Set<string>();
    for (const event of queue) {
      const key = subjectKey(event);
      if (inWave.has(key)) rest.push(event);
      else {
        inWave.add(key);
        wave.push(event);
      }
    }
    const requests: E[][] = [];
    const open = new Map<string, { events: E[]; bytes: number }>();
    for (const event of wave) {
      const bytes = JSON.stringify(event.data ?? null).length;
      let request = open.get(event.topic);
      if (!request || request.events.length >= limits.maxEvents || (request.events.length > 0 && request.bytes + bytes > limits.maxBytes)) {
        request = { events: [], bytes: 0 };
        open.set(event.topic, request);
        requests.push(request.events);
      }
      request.events.push(event);
      request.bytes += bytes;
    }
    waves.push(requests);
    queue = rest;
  }
  return waves;
}

export type OutboxRelayOptions = {
  batchSize?: number;
  idleIntervalMs?: number;
  maxBackoffMs?: number;
  retentionHours?: number;
  /** How long a claim lasts: a dead relay's rows wait this long before another relay takes them. */
  claimMs?: number;
  /** Failed attempts (with the broker otherwise working, or the event itself refused) before a row is parked. */
  maxAttempts?: number;
  /** This relay's name in claimed_by: unique per process, so a restarted relay never inherits a claim. */
  relayId?: string;
};

/** `refused`: those of the failed the sidecar refused for what they are (EventRefusedError), no sign of an outage. */
export type RelayPass = { claimed: number; published: number; failed: number; refused: number; parked: number };

/** A claimed row as published: keyed by its subject (one partition, in order), in the trace the row kept. */
function tracedEventOf(event: ClaimedEvent): TracedEvent {
  const { attempts: _attempts, ...published } = event;
  return { ...published, partitionKey: event.subject };
}

/** Consecutive failures with nothing published in the pass before it is taken for a broker outage. */
const OUTAGE_AFTER_FAILURES = 3;
const MAX_ERROR_LENGTH = 1_000;

export class OutboxRelay {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = true;
  private backoffMs = 0;
  private lastPurge = 0;
  /** Events that failed in an earlier pass of this relay, even when not counted as an attempt (an outage). */
  private readonly suspects = new Set<string>();
  private kickedWhileRunning = false;
  private readonly options: Required<OutboxRelayOptions>;

  constructor(
    private readonly store: OutboxStore,
    private readonly sidecar: EventPublisher,
    private readonly logger: Logger,
    options: OutboxRelayOptions = {},
  ) {
    this.options = {
      batchSize: 50,
      idleIntervalMs: 1_000,
      maxBackoffMs: 30_000,
      retentionHours: 72,
      claimMs: 30_000,
      maxAttempts: 5,
      relayId: `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`,
      ...options,
    };
  }

  get relayId(): string {
    return this.options.relayId;
  }

  start(): void {
    this.stopped = false;
    this.schedule(0);
  }

  /** Called after a commit that wrote to the outbox: publish now instead of at the next tick. */
  kick(): void {
    if (this.stopped || this.backoffMs > 0) return;
    // A pass already running may have claimed before this commit: one more pass right after it,
    // or the event would wait for the idle interval.
    if (this.running) this.kickedWhileRunning = true;
    else this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  /** Passes until the outbox has nothing claimable or a publish fails; exposed for tests and shutdown drains. */
  async drain(): Promise<RelayPass> {
    const total: RelayPass = { claimed: 0, published: 0, failed: 0, refused: 0, parked: 0 };
    for (;;) {
      const pass = await this.pass();
      for (const key of Object.keys(total) as (keyof RelayPass)[]) total[key] += pass[key];
      if (pass.claimed < this.options.batchSize || pass.failed > 0) return total;
    }
  }

  /** One claim → publish → mark round. */
  async pass(): Promise<RelayPass> {
    const { relayId, batchSize, claimMs, maxAttempts } = this.options;
    // Taken before the claim statement, so the local deadline is never later than the claim's.
    const claimedAt = performance.now();
    const events = await this.store.claim(relayId, batchSize, claimMs);
    const result: RelayPass = { claimed: events.length, published: 0, failed: 0, refused: 0, parked: 0 };
    if (events.length === 0) return result;
    const published: string[] = [];
    const failures: { event: ClaimedEvent; error: unknown }[] = [];
    const heldSubjects = new Set<string>();
    const failed = (event: ClaimedEvent, error: unknown) => {
      failures.push({ event, error });
      if (error instanceof EventRefusedError) result.refused++;
      heldSubjects.add(subjectKey(event));
      this.suspects.add(event.id);
    };
    const outOfTime = () => performance.now() - claimedAt > (claimMs * 2) / 3;
    const anOutage = () => published.length === 0 && failures.length - result.refused >= OUTAGE_AFTER_FAILURES;
    const { healthy, suspect } = this.suspectsApart(events);
    try {
      // Subjects that failed before go one event at a time, after the rest (see suspectsApart).
      let oneByOne = [...healthy, ...suspect];
      if (this.sidecar.publishBulk) {
        oneByOne = suspect;
        waves: for (const wave of bulkWaves(healthy)) {
          for (const request of wave) {
            if (outOfTime() || anOutage()) break waves;
            const sending = request.filter((event) => !heldSubjects.has(subjectKey(event)));
            if (sending.length === 0) continue;
            const errors = await this.sidecar.publishBulk(request[0]!.topic, sending.map(tracedEventOf));
            for (const event of sending) {
              const error = errors.get(event.id);
              if (error) failed(event, error);
              else published.push(event.id);
            }
          }
        }
      }
      for (const event of oneByOne) {
        if (heldSubjects.has(subjectKey(event))) continue;
        if (outOfTime() || anOutage()) break;
        try {
          await this.publishInItsTrace(event);
          published.push(event.id);
        } catch (error) {
          failed(event, error);
        }
      }
    } finally {
      if (published.length > 0) await this.store.markPublished(published);
    }
    for (const id of published) this.suspects.delete(id);
    result.published = published.length;
    result.failed = failures.length;
    for (const { event, error } of failures) {
      const outage = published.length === 0 && !(error instanceof EventRefusedError);
      this.logger.warn({ err: error, eventId: event.id, topic: event.topic, outage }, 'outbox relay: publish failed');
      if (outage) continue;
      const { parked } = await this.store.recordFailure(event.id, describe(error), maxAttempts);
      if (parked) {
        this.suspects.delete(event.id);
        result.parked++;
        this.logger.error(
          { eventId: event.id, topic: event.topic, type: event.type, attempts: event.attempts + 1 },
          'outbox relay: event parked after repeated failures; later events of its subject wait behind it (GET /ops/outbox, POST /ops/outbox/:id/redrive)',
        );
      }
    }
    await this.store.release(relayId);
    return result;
  }

  /** Publishes under the traceparent the row kept: the producer span joins the trace of the request that wrote it. */
  private publishInItsTrace(event: ClaimedEvent): Promise<string> {
    const { traceparent, ...published } = tracedEventOf(event);
    const publish = () => this.sidecar.publish(published);
    return traceparent ? runWithContext({ requestId: event.id, traceparent, identity: {} }, publish) : publish();
  }

  /**
   * Subjects whose next event failed before, apart from the others (each subject's own order
   * kept): they go last and one at a time. A half-open circuit breaker in the sidecar lets one
   * publish through, and it should be a healthy one, or a single poison event would keep the
   * breaker, and all publishing, shut; and a poison event in a bulk request would fail it whole.
   */
  private suspectsApart(events: ClaimedEvent[]): { healthy: ClaimedEvent[]; suspect: ClaimedEvent[] } {
    const suspect = new Set(events.filter((e) => e.attempts > 0 || this.suspects.has(e.id)).map(subjectKey));
    return { healthy: events.filter((e) => !suspect.has(subjectKey(e))), suspect: events.filter((e) => suspect.has(subjectKey(e))) };
  }

  private schedule(delayMs: number): void {
    clearTimeout(this.timer);
    // A request's kick() must not make the relay part of that request (its trace, its queries' spans).
    this.timer = setTimeout(() => {
      this.running ??= outsideRequest(() => this.tick()).finally(() => (this.running = undefined));
    }, delayMs);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    try {
      const { failed, refused } = await this.drain();
      if (failed > refused) throw new Error(`${failed - refused} event(s) failed to publish`);
      this.backoffMs = 0;
      if (Date.now() - this.lastPurge > 3_600_000) {
        this.lastPurge = Date.now();
        await this.store.purgePublished(new Date(Date.now() - this.options.retentionHours * 3_600_000));
      }
    } catch (error) {
      this.backoffMs = Math.min(Math.max(this.backoffMs * 2, 500), this.options.maxBackoffMs);
      this.logger.warn({ err: error, retryInMs: this.backoffMs }, 'outbox relay: pass failed; will retry');
    }
    const kicked = this.kickedWhileRunning;
    this.kickedWhileRunning = false;
    if (!this.stopped) this.schedule(this.backoffMs || (kicked ? 0 : this.options.idleIntervalMs));
  }
}

function describe(error: unknown): string {
  const cause = (error as { cause?: unknown }).cause;
  const text = error instanceof Error ? error.message : String(error);
  const detail =
    cause === undefined ? '' : `: ${cause instanceof Error ? cause.message : typeof cause === 'string' ? cause : JSON.stringify(cause)}`;
  return `${text}${detail}`.slice(0, MAX_ERROR_LENGTH);
}

/** An outbox row for an event contract: payload validated now, id time-ordered (and the CloudEvent id downstream). */
export function outboxEvent<S extends z.ZodType>(
  contract: { type: string; topic: string; data: S },
  subject: string,
  data: z.input<S>,
): Omit<OutboxEvent, 'time'> {
  return { id: uuidv7(), topic: contract.topic, type: contract.type, subject, data: contract.data.parse(data) };
}

/** Whether an outbox row carries an audit entry (which takes a place in its service's hash chain). */
export const isAuditRow = (event: Omit<OutboxEvent, 'time'>) => event.type === auditRecorded.type;

/** Audit rows by the service whose chain each entry joins, each service's in the order given. */
export function auditRowsByChain<R extends Omit<OutboxEvent, 'time'>>(rows: R[]): Map<string, R[]> {
  const byService = new Map<string, R[]>();
  for (const row of rows) {
    const service = (row.data as AuditEntry).service;
    byService.set(service, [...(byService.get(service) ?? []), row]);
  }
  return byService;
}

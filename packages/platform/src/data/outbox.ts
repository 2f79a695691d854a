import type { Logger } from 'pino';
import type { z } from 'zod';
import { uuidv7 } from '../ids.js';
import type { Sidecar } from '../dapr/sidecar.js';

/**
 * Transactional outbox: a service writes its event into the `outbox` table in
 * the same transaction as the state change, and this relay publishes pending
 * rows through the sidecar in order. Broker down or a crash after commit loses
 * nothing; a row is marked published only after the sidecar accepted it, so
 * delivery is at least once and consumers dedupe by CloudEvent id (= row id).
 */
export type OutboxEvent = { id: string; topic: string; type: string; subject: string; data: unknown; time: Date };

export interface OutboxStore {
  /** Adds one event on its own (no surrounding state change), e.g. an audit entry written before a read is answered. */
  append(event: Omit<OutboxEvent, 'time'>): Promise<void>;
  /** Runs `publish` over the oldest pending rows, locked against other relays; marks those it returns as published. */
  relayBatch(limit: number, publish: (events: OutboxEvent[]) => Promise<string[]>): Promise<number>;
  purgePublished(olderThan: Date): Promise<number>;
}

export type OutboxRelayOptions = { batchSize?: number; idleIntervalMs?: number; maxBackoffMs?: number; retentionHours?: number };

export class OutboxRelay {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = true;
  private backoffMs = 0;
  private lastPurge = 0;
  private readonly options: Required<OutboxRelayOptions>;

  constructor(
    private readonly store: OutboxStore,
    private readonly sidecar: Sidecar,
    private readonly logger: Logger,
    options: OutboxRelayOptions = {},
  ) {
    this.options = { batchSize: 50, idleIntervalMs: 1_000, maxBackoffMs: 30_000, retentionHours: 72, ...options };
  }

  start(): void {
    this.stopped = false;
    this.schedule(0);
  }

  /** Called after a commit that wrote to the outbox: publish now instead of at the next tick. */
  kick(): void {
    if (!this.stopped && this.backoffMs === 0) this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  /** One pass until the outbox is empty or publishing fails; exposed for tests and shutdown drains. */
  async drain(): Promise<void> {
    for (;;) {
      const published = await this.store.relayBatch(this.options.batchSize, (events) => this.publishInOrder(events));
      if (published < this.options.batchSize) return;
    }
  }

  private schedule(delayMs: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.running ??= this.tick().finally(() => (this.running = undefined));
    }, delayMs);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    try {
      await this.drain();
      this.backoffMs = 0;
      if (Date.now() - this.lastPurge > 3_600_000) {
        this.lastPurge = Date.now();
        await this.store.purgePublished(new Date(Date.now() - this.options.retentionHours * 3_600_000));
      }
    } catch (error) {
      this.backoffMs = Math.min(Math.max(this.backoffMs * 2, 500), this.options.maxBackoffMs);
      this.logger.warn({ err: error, retryInMs: this.backoffMs }, 'outbox relay: publish failed; will retry');
    }
    if (!this.stopped) this.schedule(this.backoffMs || this.options.idleIntervalMs);
  }

  /** Stops at the first failure so events of one aggregate never overtake each other. */
  private async publishInOrder(events: OutboxEvent[]): Promise<string[]> {
    const done: string[] = [];
    for (const event of events) {
      try {
        await this.sidecar.publish({ ...event, partitionKey: event.subject });
      } catch (error) {
        if (done.length === 0) throw error;
        this.logger.warn({ err: error, eventId: event.id }, 'outbox relay: publish failed mid-batch');
        break;
      }
      done.push(event.id);
    }
    return done;
  }
}

/** An outbox row for an event contract: payload validated now, id time-ordered (and the CloudEvent id downstream). */
export function outboxEvent<S extends z.ZodType>(
  contract: { type: string; topic: string; data: S },
  subject: string,
  data: z.input<S>,
): Omit<OutboxEvent, 'time'> {
  return { id: uuidv7(), topic: contract.topic, type: contract.type, subject, data: contract.data.parse(data) };
}

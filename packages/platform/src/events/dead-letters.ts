import { randomUUID } from 'node:crypto';
import { cloudEventSchema } from '@caregrid/contracts';
import { z } from 'zod';
import { ConflictError, DependencyUnavailableError, DomainError, NotFoundError } from '../errors.js';
import { ApiRouter } from '../http/routes.js';
import type { Logger } from '../logger.js';
import { pageQuerySchema, type Page } from '../pagination.js';
import { DELIVERY_RESPONSES, type EventHandler } from './delivery.js';

/**
 * Dead letters of a subscriber: events daprd gave up on (dropped as malformed,
 * or still failing after the Resiliency retries) arrive on the subscriber's own
 * dead-letter topics (`<topic>.<app-id>.dlq`) and are parked in the service's
 * own database, with the original event, until a re-drive applies them through
 * the same handler as the live subscription.
 */
export type DeadLetterArrival = {
  /** The CloudEvent id (the idempotency key of every handler). */
  id: string;
  /** The topic the event was first published to (not the dead-letter topic). */
  topic: string;
  type?: string;
  subject?: string;
  /** The whole original CloudEvent: what a re-drive hands to the handler. */
  event: unknown;
};

export type DeadLetterSummary = {
  id: string;
  topic: string;
  type: string | null;
  subject: string | null;
  /** Why it was dropped, when the service knew (a malformed event), or why its last re-drive failed. */
  reason: string | null;
  firstSeenAt: string;
  lastSeenAt: string;
  /** How often it arrived on a dead-letter topic. */
  count: number;
  lastRedriveAt: string | null;
};

export type ParkedDeadLetter = DeadLetterSummary & { event: unknown };

/** Where a service parks its dead letters; failures to reach it are DependencyUnavailableError. */
export interface DeadLetterStore {
  /** An arrival from a dead-letter topic: parked once per event id, counted each time. */
  park(letter: DeadLetterArrival): Promise<void>;
  /** Why the service drops an event, noted before daprd moves it to the dead-letter topic (count unchanged). */
  noteDropped(letter: DeadLetterArrival & { reason: string }): Promise<void>;
  list(page: { limit: number; cursor?: string }): Promise<Page<DeadLetterSummary>>;
  get(id: string): Promise<ParkedDeadLetter | undefined>;
  noteRedriveFailure(id: string, reason: string): Promise<void>;
  remove(id: string): Promise<void>;
}

/** A delivery from a dead-letter topic: daprd moves the original envelope unchanged, so `topic` is where it was first published. */
export function deadLetterArrival(body: unknown): DeadLetterArrival {
  const envelope = cloudEventSchema.safeParse(body);
  // Not a CloudEvent at all: parked under an id of its own, for a person to look at.
  if (!envelope.success) return { id: `unidentified-${randomUUID()}`, topic: 'unknown', event: body };
  const { id, topic, type, subject } = envelope.data;
  return { id, topic: topic ?? 'unknown', type, subject, event: body };
}

export type RedriveResult = { id: string; outcome: 'redriven' };

/**
 * Applies a parked event again through the service's own handler (idempotent
 * by event id) and unparks it when that succeeds. When it fails again it stays
 * parked with the reason: 409 when the handler refuses it (still malformed, a
 * bug), 503 while a dependency is down.
 */
export async function redriveDeadLetter(
  id: string,
  deps: { store: DeadLetterStore; handle: EventHandler; logger: Logger },
): Promise<RedriveResult> {
  const letter = await deps.store.get(id);
  if (!letter) throw new NotFoundError('dead letter', id);
  let failure: DomainError;
  try {
    const status = await deps.handle(letter.event);
    if (status === 'SUCCESS') {
      await deps.store.remove(id);
      deps.logger.info({ eventId: id, topic: letter.topic }, 'dead letter re-driven');
      return { id, outcome: 'redriven' };
    }
    failure =
      status === 'DROP'
        ? new ConflictError('The event is refused again (malformed): it stays parked', { id, outcome: 'refused' })
        : new DependencyUnavailableError('the handler’s dependency');
  } catch (error) {
    failure =
      error instanceof DependencyUnavailableError
        ? error
        : new ConflictError('Applying the event failed: it stays parked', { id, outcome: 'failed' });
    if (!(error instanceof DependencyUnavailableError)) deps.logger.error({ err: error, eventId: id }, 're-drive failed');
  }
  await deps.store.noteRedriveFailure(id, failure.message).catch(() => undefined);
  throw failure;
}

const summary = z.object({
  id: z.string(),
  topic: z.string(),
  type: z.string().nullable(),
  subject: z.string().nullable(),
  reason: z.string().nullable(),
  firstSeenAt: z.string(),
  lastSeenAt: z.string(),
  count: z.number().int(),
  lastRedriveAt: z.string().nullable(),
});

/**
 * The dead-letter routes of a subscriber: the drain of its dead-letter topics
 * (`POST /events/dead-letter`, from its sidecar only) and the admin view and
 * re-drive (`/ops/dead-letters`). `handle` is the service's event handler,
 * dispatching as its subscriptions do.
 */
export function deadLetterRoutes(appId: string, deps: { store: DeadLetterStore; handle: EventHandler; logger: Logger }): ApiRouter {
  const { store, logger } = deps;
  return ApiRouter.forService(appId)
    .add({
      method: 'post',
      path: '/events/dead-letter',
      summary: 'Drains this service’s dead-letter topics: each event parked once, with the original',
      tags: ['events'],
      body: z.unknown(),
      responses: DELIVERY_RESPONSES,
      handler: async ({ body, res }) => {
        const arrival = deadLetterArrival(body);
        try {
          await store.park(arrival);
        } catch (error) {
          if (!(error instanceof DependencyUnavailableError)) throw error;
          // No dead-letter topic behind this one: the broker client redelivers until the store is back.
          logger.warn({ err: error, eventId: arrival.id }, 'dead letter not parked yet; asking for redelivery');
          res.json({ status: 'RETRY' });
          return;
        }
        logger.warn({ eventId: arrival.id, topic: arrival.topic, type: arrival.type }, 'dead letter parked');
        res.json({ status: 'SUCCESS' });
      },
    })
    .add({
      method: 'get',
      path: '/ops/dead-letters',
      summary: 'Parked dead letters, oldest first, without their payload (admin)',
      tags: ['operations'],
      query: z.strictObject(pageQuerySchema),
      responses: {
        200: { description: 'A page of dead letters', schema: z.object({ items: z.array(summary), nextCursor: z.string().nullable() }) },
        403: { description: 'Admins only' },
        503: { description: 'The store is unavailable' },
      },
      handler: async ({ query, res }) => {
        res.json(await store.list(query));
      },
    })
    .add({
      method: 'post',
      path: '/ops/dead-letters/:id/redrive',
      summary: 'Applies a parked event again through the live handler; unparked on success (admin)',
      tags: ['operations'],
      params: z.strictObject({ id: z.string().min(1).max(200) }),
      responses: {
        200: { description: 'Applied and unparked', schema: z.object({ id: z.string(), outcome: z.literal('redriven') }) },
        403: { description: 'Admins only' },
        404: { description: 'Not parked (absent, or re-driven already)' },
        409: { description: 'Refused or failed again: stays parked' },
        503: { description: 'A dependency is still down: stays parked' },
      },
      handler: async ({ params, res }) => {
        res.json(await redriveDeadLetter(params.id, deps));
      },
    });
}

/**
 * Re-drives parked dead letters on a timer, so an outage longer than the retry
 * budget heals without anyone pressing a button. A letter waits one interval
 * after it was parked (`minAgeMs`), long enough for a person to look at a fresh
 * one; a pass stops at the first letter whose dependency is still down, and the
 * next tick tries again.
 */
export function startDeadLetterRedrive(deps: {
  store: DeadLetterStore;
  handle: EventHandler;
  logger: Logger;
  intervalMs: number;
  minAgeMs?: number;
  isShuttingDown?: () => boolean;
}): { stop: () => void; runOnce: () => Promise<number> } {
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const minAgeMs = deps.minAgeMs ?? deps.intervalMs;
  const runOnce = async (): Promise<number> => {
    let redriven = 0;
    let cursor: string | undefined;
    const refused = new Set<string>();
    const parkedBefore = Date.now() - minAgeMs;
    do {
      const page = await deps.store.list({ limit: 50, cursor });
      for (const letter of page.items) {
        if (stopped || deps.isShuttingDown?.()) return redriven;
        // Oldest first: the rest of the list is younger still.
        if (Date.parse(letter.firstSeenAt) > parkedBefore) return redriven;
        try {
          await redriveDeadLetter(letter.id, deps);
          redriven++;
        } catch (error) {
          if (error instanceof DependencyUnavailableError) return redriven;
          // Refused or absent: it waits for a person; the rest still go.
          refused.add(letter.id);
        }
      }
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    if (refused.size > 0) deps.logger.warn({ count: refused.size }, 'dead letters that a re-drive cannot apply stay parked');
    return redriven;
  };
  const tick = async () => {
    try {
      const redriven = await runOnce();
      if (redriven > 0) deps.logger.info({ redriven }, 'parked dead letters re-driven');
    } catch (error) {
      deps.logger.warn({ err: error }, 'automatic re-drive skipped: store unavailable');
    }
    if (!stopped) schedule();
  };
  const schedule = () => {
    timer = setTimeout(() => void tick(), deps.intervalMs);
    // Never what keeps a process (or a test run) alive.
    timer.unref();
  };
  if (deps.intervalMs > 0) schedule();
  return {
    stop: () => {
      stopped = true;
      clearTimeout(timer);
    },
    runOnce,
  };
}

import type { DeadLetterBacklog } from '@caregrid/contracts';

export type { DeadLetterBacklog } from '@caregrid/contracts';
import { z } from 'zod';
import { ConflictError, DependencyUnavailableError, NotFoundError } from '../errors.js';
import { ApiRouter } from '../http/routes.js';
import type { Logger } from '../logger.js';
import { pageQuerySchema, type Page } from '../pagination.js';
import { deadLetterArrival, type DeadLetterArrival } from './arrival.js';
import { answerBulkDelivery, subscriptionRoute, type EventApplier, type Outcome } from './delivery.js';

export { deadLetterArrival, type DeadLetterArrival } from './arrival.js';

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
  /** Re-drives that failed for a reason of the event's own (a dependency being down does not count). */
  attempts: number;
  /** When the automatic re-drive tries it next (null: never by itself, it is poison). */
  nextAttemptAt: string | null;
  /** Refused as malformed, or failed REDRIVE_MAX_ATTEMPTS times: waits for a person (a fix, then a bulk re-drive). */
  poison: boolean;
};

export type ParkedDeadLetter = DeadLetterSummary & { event: unknown };

/** Which parked letters a bulk re-drive takes: by original topic and by when they were first parked. */
export type DeadLetterFilter = { topic?: string; from?: Date; to?: Date };

/** The backlog of a store's per-topic counts (either database). */
export function deadLetterBacklogOf(rows: { topic: string; parked: number; poison: number; oldest: Date }[]): DeadLetterBacklog {
  const oldest = rows.reduce<Date | null>((min, r) => (min === null || r.oldest < min ? r.oldest : min), null);
  return {
    parked: rows.reduce((sum, r) => sum + r.parked, 0),
    poison: rows.reduce((sum, r) => sum + r.poison, 0),
    oldestParkedAt: oldest?.toISOString() ?? null,
    byTopic: rows.map(({ topic, parked, poison }) => ({ topic, parked, poison })),
  };
}

/** A batch's arrivals once per event id, with how often each came: a batch may bring one event twice. */
export function arrivalsById(arrivals: DeadLetterArrival[]): { letter: DeadLetterArrival; times: number }[] {
  const byId = new Map<string, { letter: DeadLetterArrival; times: number }>();
  for (const letter of arrivals) {
    const seen = byId.get(letter.id);
    if (seen) seen.times++;
    else byId.set(letter.id, { letter, times: 1 });
  }
  return [...byId.values()];
}

/** A failed re-drive of one letter, to record: when to try again, or that it is poison now. */
export type RedriveFailure = { id: string; reason: string; counted: boolean; poison: boolean; nextAttemptAt: Date | null };

/** Where a service parks its dead letters; failures to reach it are DependencyUnavailableError. */
export interface DeadLetterStore {
  /** Arrivals from the dead-letter topics, in one write: parked once per event id (due for a re-drive `firstDelayMs` later), counted each time. */
  parkMany(letters: DeadLetterArrival[], firstDelayMs: number): Promise<void>;
  /** A malformed event, noted with its reason before daprd moves it to the dead-letter topic: poison from the start. */
  noteDropped(letter: DeadLetterArrival & { reason: string }): Promise<void>;
  list(page: { limit: number; cursor?: string }): Promise<Page<DeadLetterSummary>>;
  get(id: string): Promise<ParkedDeadLetter | undefined>;
  /** Up to `limit` letters whose automatic re-drive is due, oldest first, with their events. */
  due(limit: number): Promise<ParkedDeadLetter[]>;
  /** Unparks what was applied (`applied`), records what failed (`failed`): one write each. */
  settle(applied: string[], failed: RedriveFailure[]): Promise<void>;
  /** Makes the letters matching `filter` due now, poison or not (attempts reset): how many. */
  schedule(filter: DeadLetterFilter): Promise<number>;
  backlog(): Promise<DeadLetterBacklog>;
}

/**
 * When the automatic re-drive tries a letter again: a first try soon after it was parked (the
 * cause is often already gone: the delivery retries are seconds long), then doubling up to a cap.
 * Only failures of the event's own count; after REDRIVE_MAX_ATTEMPTS of those it is poison.
 */
export const REDRIVE_FIRST_DELAY_MS = 5_000;
export const REDRIVE_MAX_DELAY_MS = 300_000;
export const REDRIVE_MAX_ATTEMPTS = 10;

export function redriveFailure(letter: Pick<ParkedDeadLetter, 'id' | 'attempts'>, outcome: Outcome, now = Date.now()): RedriveFailure {
  if (outcome.status === 'SUCCESS') throw new Error('a success is no failure');
  if (outcome.status === 'DROP') return { id: letter.id, reason: outcome.reason, counted: true, poison: true, nextAttemptAt: null };
  if (outcome.transient) {
    // A dependency down is nobody's fault: tried again at the first delay, never counted.
    return { id: letter.id, reason: outcome.reason, counted: false, poison: false, nextAttemptAt: new Date(now + REDRIVE_FIRST_DELAY_MS) };
  }
  const attempts = letter.attempts + 1;
  if (attempts >= REDRIVE_MAX_ATTEMPTS) return { id: letter.id, reason: outcome.reason, counted: true, poison: true, nextAttemptAt: null };
  const delay = Math.min(REDRIVE_FIRST_DELAY_MS * 2 ** attempts, REDRIVE_MAX_DELAY_MS);
  return { id: letter.id, reason: outcome.reason, counted: true, poison: false, nextAttemptAt: new Date(now + delay) };
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
  deps: { store: DeadLetterStore; apply: EventApplier; logger: Logger },
): Promise<RedriveResult> {
  const letter = await deps.store.get(id);
  if (!letter) throw new NotFoundError('dead letter', id);
  const [outcome] = await deps.apply([letter.event]);
  if (outcome!.status === 'SUCCESS') {
    await deps.store.settle([id], []);
    deps.logger.info({ eventId: id, topic: letter.topic }, 'dead letter re-driven');
    return { id, outcome: 'redriven' };
  }
  const failure = redriveFailure(letter, outcome!);
  await deps.store.settle([], [failure]).catch(() => undefined);
  if (outcome!.status === 'RETRY' && outcome!.transient) throw new DependencyUnavailableError('the handler’s dependency');
  throw new ConflictError(
    outcome!.status === 'DROP' ? 'The event is refused again (malformed): it stays parked' : 'Applying the event failed: it stays parked',
    { id, outcome: outcome!.status === 'DROP' ? 'refused' : 'failed', reason: outcome!.reason },
  );
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
  attempts: z.number().int(),
  nextAttemptAt: z.string().nullable(),
  poison: z.boolean(),
});

const bulkRedriveBody = z.strictObject({
  topic: z.string().min(1).max(200).optional().describe('Only letters first published to this topic'),
  from: z.iso.datetime({ offset: true }).optional().describe('Only letters parked at or after this instant'),
  to: z.iso.datetime({ offset: true }).optional().describe('Only letters parked before this instant'),
});

export type DeadLetterHandling = {
  store: DeadLetterStore;
  /** The service's handler of its subscribed events, dispatching as its subscriptions do. */
  apply: EventApplier;
  logger: Logger;
};

/**
 * The dead-letter routes of a subscriber: the drain of its dead-letter topics
 * (`POST /events/dead-letter`, bulk, from its sidecar only) and the admin view and
 * re-drives (`/ops/dead-letters`). `onScheduled` wakes the automatic re-drive.
 */
export function deadLetterRoutes(appId: string, deps: DeadLetterHandling & { onScheduled?: () => void; redriveMs?: number }): ApiRouter {
  const { store, logger } = deps;
  // A fresh letter waits at least one pass of the automatic re-drive: time for a person to look at it.
  const firstDelayMs = Math.max(REDRIVE_FIRST_DELAY_MS, deps.redriveMs ?? 0);
  return ApiRouter.forService(appId)
    .add(
      subscriptionRoute(
        '/events/dead-letter',
        'Drains this service’s dead-letter topics, in batches: each event parked once, with the original',
        answerBulkDelivery(async (events) => {
          const arrivals = events.map(deadLetterArrival);
          try {
            await store.parkMany(arrivals, firstDelayMs);
          } catch (error) {
            if (!(error instanceof DependencyUnavailableError)) throw error;
            // No dead-letter topic behind this one: the broker client redelivers until the store is back.
            logger.warn({ err: error, events: arrivals.length }, 'dead letters not parked yet; asking for redelivery');
            return arrivals.map(() => 'RETRY');
          }
          for (const [topic, count] of countBy(arrivals.map((a) => a.topic))) {
            logger.warn({ topic, count, alert: 'dead-letters-parked' }, 'dead letters parked; the automatic re-drive will apply them');
          }
          return arrivals.map(() => 'SUCCESS');
        }),
      ),
    )
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
      path: '/ops/dead-letters/redrive',
      summary: 'Re-drive parked dead letters in bulk, by topic and time parked, poison ones included (admin): applied in the background',
      tags: ['operations'],
      body: bulkRedriveBody,
      responses: {
        202: { description: 'Scheduled: the automatic re-drive applies them now', schema: z.object({ scheduled: z.number().int() }) },
        400: { description: 'Invalid filter' },
        403: { description: 'Admins only' },
        503: { description: 'The store is unavailable' },
      },
      handler: async ({ body, res }) => {
        const scheduled = await store.schedule({
          topic: body.topic,
          from: body.from ? new Date(body.from) : undefined,
          to: body.to ? new Date(body.to) : undefined,
        });
        logger.info({ scheduled, ...body }, 'bulk re-drive of dead letters scheduled');
        deps.onScheduled?.();
        res.status(202).json({ scheduled });
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

function countBy(values: string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const value of values) counts.set(value, (counts.get(value) ?? 0) + 1);
  return counts;
}

export type DeadLetterRedrive = {
  /** Starts a pass now (after a bulk re-drive was scheduled) unless one is running: also when it makes no passes of its own. */
  kick: () => void;
  stop: () => void;
  /** Passes until nothing is due (or a dependency is down): how many were applied. */
  runOnce: () => Promise<number>;
};

const REDRIVE_BATCH = 100;

/**
 * Re-drives parked dead letters by itself, so an outage longer than the delivery retries heals
 * without anyone pressing a button: every `intervalMs` it takes the letters that are due, a batch
 * at a time, through the live handler. What applies is unparked; what fails is tried again later
 * (REDRIVE_* backoff), and a letter that keeps failing for its own reasons, or is refused as
 * malformed, is poison: said so in the log (`alert: dead-letter-poison`), on /ops/backlog and in
 * /metrics, and left for a person. A pass stops when a dependency is down; the next tick tries again.
 */
export function startDeadLetterRedrive(
  deps: DeadLetterHandling & { intervalMs: number; isShuttingDown?: () => boolean },
): DeadLetterRedrive {
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let running: Promise<number> | undefined;
  const runOnce = async (): Promise<number> => {
    let redriven = 0;
    for (;;) {
      if (stopped || deps.isShuttingDown?.()) return redriven;
      const letters = await deps.store.due(REDRIVE_BATCH);
      if (letters.length === 0) return redriven;
      const outcomes = await deps.apply(letters.map((letter) => letter.event));
      const applied = letters.filter((_, i) => outcomes[i]!.status === 'SUCCESS').map((letter) => letter.id);
      const failed = letters.flatMap((letter, i) => (outcomes[i]!.status === 'SUCCESS' ? [] : [redriveFailure(letter, outcomes[i]!)]));
      await deps.store.settle(applied, failed);
      redriven += applied.length;
      for (const failure of failed.filter((f) => f.poison)) {
        deps.logger.error(
          { eventId: failure.id, reason: failure.reason, alert: 'dead-letter-poison' },
          'dead letter is poison: it stays parked until fixed and re-driven (POST /ops/dead-letters/redrive)',
        );
      }
      // A dependency is down: no use trying the rest now.
      if (failed.some((f) => !f.counted)) return redriven;
    }
  };
  const tick = async () => {
    try {
      running = runOnce();
      const redriven = await running;
      if (redriven > 0) deps.logger.info({ redriven }, 'parked dead letters re-driven');
    } catch (error) {
      deps.logger.warn({ err: error }, 'automatic re-drive skipped: store unavailable');
    } finally {
      running = undefined;
    }
    // intervalMs 0: no passes of its own, only those an admin's bulk re-drive asks for (kick).
    if (!stopped && deps.intervalMs > 0) schedule(deps.intervalMs);
  };
  const schedule = (delayMs: number) => {
    clearTimeout(timer);
    timer = setTimeout(() => void tick(), delayMs);
    // Never what keeps a process (or a test run) alive.
    timer.unref();
  };
  if (deps.intervalMs > 0) schedule(deps.intervalMs);
  return {
    kick: () => {
      if (!stopped && !running) schedule(0);
    },
    stop: () => {
      stopped = true;
      clearTimeout(timer);
    },
    runOnce,
  };
}

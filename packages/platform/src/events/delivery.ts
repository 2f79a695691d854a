import { ContractViolation, deliveryBodyLimit, MAX_DELIVERY_BATCH, type CloudEvent, type EventContract } from '@caregrid/contracts';
import type { Response } from 'express';
import { z } from 'zod';
import { DependencyUnavailableError } from '../errors.js';
import type { RouteSpec } from '../http/routes.js';
import { inSpan, SpanKind } from '../tracing.js';
import { malformationOf, refuseMalformed, unknownEventType, type MalformedEventPolicy } from './malformed.js';

/** Dapr's subscriber contract: 200 with SUCCESS, RETRY (redeliver per Resiliency) or DROP (→ dead-letter topic). */
export type DeliveryStatus = 'SUCCESS' | 'RETRY' | 'DROP';
export const DELIVERY_RESPONSES = { 200: { description: 'Processed: { status: SUCCESS | RETRY | DROP } (bulk: one per entry)' } };

/**
 * The declaration of a route daprd delivers events to (from its own sidecar only, by the
 * access model): its body limit fits the largest batch of the largest events a contract allows,
 * so a delivery is never refused whole for its size.
 */
export function subscriptionRoute(
  path: string,
  summary: string,
  handler: (input: { body: unknown; res: Response }) => Promise<void>,
  batchSize = MAX_DELIVERY_BATCH,
): RouteSpec<z.ZodUnknown, z.ZodUnknown, z.ZodUnknown> {
  return {
    method: 'post',
    path,
    summary,
    tags: ['events'],
    body: z.unknown(),
    responses: DELIVERY_RESPONSES,
    bodyLimit: deliveryBodyLimit(batchSize),
    handler,
  };
}

/**
 * One applier for several event types in a batch (a re-drive of dead letters from several
 * topics): each type's events go to its applier, in their order; outcomes come back in place.
 */
export function applyByEventType(appliers: Record<string, EventApplier>, otherwise: EventApplier): EventApplier {
  return async (events) => {
    const groups = new Map<EventApplier, number[]>();
    events.forEach((event, i) => {
      const type = (event as { type?: unknown } | null)?.type;
      const applier = typeof type === 'string' && Object.hasOwn(appliers, type) ? appliers[type]! : otherwise;
      groups.set(applier, [...(groups.get(applier) ?? []), i]);
    });
    const outcomes = new Array<Outcome>(events.length);
    for (const [applier, positions] of groups) {
      const results = await applier(positions.map((i) => events[i]));
      positions.forEach((position, j) => (outcomes[position] = results[j]!));
    }
    return outcomes;
  };
}

/**
 * What a subscriber does with one delivered event, apart from HTTP: the live
 * subscription route and a re-drive of a dead letter call the same function.
 */
export type EventHandler = (event: unknown) => Promise<DeliveryStatus>;

/** The route handler of a subscription: the event handler's status as Dapr expects it. */
export function answerDelivery(handler: EventHandler) {
  return async ({ body, res }: { body: unknown; res: Response }): Promise<void> => {
    const event = (typeof body === 'object' && body !== null ? body : {}) as { id?: unknown; type?: unknown; topic?: unknown };
    const attributes = {
      'messaging.system': 'dapr',
      'messaging.destination.name': String(event.topic ?? ''),
      'messaging.message.id': String(event.id ?? ''),
      'cloudevents.event_type': String(event.type ?? ''),
    };
    const status = await inSpan(`consume ${String(event.topic ?? 'event')}`, SpanKind.CONSUMER, attributes, async (span) => {
      const outcome = await handler(body);
      span.setAttribute('caregrid.delivery_status', outcome);
      return outcome;
    });
    res.json({ status });
  };
}

/** What a subscriber does with a batch of delivered events: one status per event, in order. */
export type BatchHandler = (events: unknown[]) => Promise<DeliveryStatus[]>;

const bulkEnvelope = z.object({
  entries: z.array(z.object({ entryId: z.string().min(1), event: z.unknown() })).max(10_000),
  /** The topic of the subscription, set by the subscriber's own sidecar (not by whoever published). */
  topic: z.string().min(1).optional(),
});

/**
 * The route handler of a bulk subscription (`bulkSubscribe` in its
 * Subscription): Dapr posts up to `maxMessagesCount` events at once and wants
 * a status per entry — a DROP goes to the dead-letter topic, a RETRY comes
 * again, alone or in a later batch.
 */
export function answerBulkDelivery(handler: BatchHandler, options: { topicOfSubscription?: boolean } = {}) {
  return async ({ body, res }: { body: unknown; res: Response }): Promise<void> => {
    const envelope = bulkEnvelope.safeParse(body);
    if (!envelope.success || (options.topicOfSubscription && !envelope.data.topic)) {
      res.status(400).json({ statuses: [] });
      return;
    }
    const { entries, topic } = envelope.data;
    // A CloudEvent arrives as an object; other content types as the raw string.
    const parsed = entries.map(({ event }) => {
      if (typeof event !== 'string') return event;
      try {
        return JSON.parse(event) as unknown;
      } catch {
        return event;
      }
    });
    // `topicOfSubscription`: each event's `topic` is the one it was delivered from, whatever its
    // envelope says (a producer writing to the broker directly can write any envelope).
    const events =
      options.topicOfSubscription && topic
        ? parsed.map((event) => (typeof event === 'object' && event !== null ? { ...event, topic } : event))
        : parsed;
    const statuses = await handler(events);
    res.json({ statuses: entries.map(({ entryId }, i) => ({ entryId, status: statuses[i] ?? 'RETRY' })) });
  };
}

/** Events a subscription receives but does not act on (e.g. other types of its topic). */
export const ignoreEvent: EventHandler = async () => 'SUCCESS';

/**
 * The other types of a subscriber's topics (`contracts`: all of theirs): acknowledged and ignored
 * when a contract defines them; a type or version none defines is malformed (refuseMalformed),
 * never lost without a trace.
 */
export function ignoreKnownTypes(contracts: EventContract<z.ZodType>[], policy: MalformedEventPolicy): EventHandler {
  const known = new Set(contracts.map((contract) => contract.type));
  return async (body) => {
    const type = (body as { type?: unknown } | null)?.type;
    if (typeof type === 'string' && known.has(type)) return 'SUCCESS';
    return (await refuseMalformed(body, unknownEventType(type), policy)).status;
  };
}

/** One handler per CloudEvent type, as the subscription's routing rules pick them; `otherwise` for the rest. */
export function byEventType(handlers: Record<string, EventHandler>, otherwise: EventHandler = ignoreEvent): EventHandler {
  return (event) => {
    const type = (event as { type?: unknown } | null)?.type;
    const handler = typeof type === 'string' && Object.hasOwn(handlers, type) ? handlers[type]! : otherwise;
    return handler(event);
  };
}

/** `deadLetters`: where a malformed event is noted (refuseMalformed, the one policy of every subscriber). */
type DeliveryOptions<T> = MalformedEventPolicy & {
  handle: (event: CloudEvent<T>) => Promise<void>;
};

/**
 * The handler of a subscription: the delivered CloudEvent parsed by its
 * contract, then handled. A malformed event can never succeed: it is noted
 * as a poison dead letter and dropped (refuseMalformed); a dependency that is
 * down asks Dapr to redeliver.
 */
export function deliveryOf<S extends z.ZodType>(contract: EventContract<S>, options: DeliveryOptions<z.output<S>>): EventHandler {
  return async (body) => {
    let event: CloudEvent<z.output<S>>;
    try {
      event = contract.parse(body);
    } catch (error) {
      if (!(error instanceof ContractViolation)) throw error;
      return (await refuseMalformed(body, malformationOf(error), { ...options, topicOfContract: contract.topic })).status;
    }
    try {
      await options.handle(event);
    } catch (error) {
      if (!(error instanceof DependencyUnavailableError)) throw error;
      options.logger.warn({ err: error, eventId: event.id }, `${contract.type} not processed yet; asking for redelivery`);
      return 'RETRY';
    }
    return 'SUCCESS';
  };
}

/**
 * What became of one event handed to a subscriber's handler, with the why that Dapr's status
 * leaves out: a RETRY is `transient` when a dependency is down (no fault of the event) and not
 * when handling it failed unexpectedly. A re-drive of dead letters counts only the latter
 * against an event, so an outage never turns good events into poison.
 */
export type Outcome = { status: 'SUCCESS' } | { status: 'DROP'; reason: string } | { status: 'RETRY'; reason: string; transient: boolean };

/** A subscriber's events applied in a batch (delivery order kept): one outcome each, in order. */
export type EventApplier = (events: unknown[]) => Promise<Outcome[]>;

const SUCCESS: Outcome = { status: 'SUCCESS' };

/** A one-event handler (deliveryOf, byEventType) as an applier: each event on its own, a thrown error its own outcome. */
export function eachOf(handle: EventHandler): EventApplier {
  return async (events) => {
    const outcomes: Outcome[] = [];
    for (const event of events) {
      try {
        const status = await handle(event);
        outcomes.push(
          status === 'SUCCESS'
            ? SUCCESS
            : status === 'DROP'
              ? { status, reason: 'refused by the handler (malformed)' }
              : { status, reason: 'a dependency is unavailable', transient: true },
        );
      } catch (error) {
        outcomes.push(failureOf(error));
      }
    }
    return outcomes;
  };
}

const failureOf = (error: unknown): Outcome =>
  error instanceof DependencyUnavailableError
    ? { status: 'RETRY', reason: error.message, transient: true }
    : { status: 'RETRY', reason: error instanceof Error ? error.message : String(error), transient: false };

/**
 * The handlers of a subscription to whole topics, bulk (`bulkSubscribe`) or not: each event
 * parsed by the contract of its type, and the valid ones of a batch handled together
 * (`handleMany`, in delivery order). A malformed event, or one of a type none of `contracts`
 * defines, is refused as `deliveryOf` refuses it; a dependency that is down asks for the batch's
 * valid events again. A batch that fails for another reason is split and each half tried on its
 * own, down to single events, so one bad event never fails the 99 others with it: only that one
 * is retried (and, failing still, dead-lettered and re-driven alone). `apply` gives each event's
 * outcome (a live batch, a re-drive of dead letters); `batch` answers Dapr.
 */
export function deliveryByContract(
  contracts: EventContract<z.ZodType>[],
  options: MalformedEventPolicy & { handleMany: (events: CloudEvent<unknown>[]) => Promise<void> },
): { apply: EventApplier; batch: BatchHandler } {
  const byType = new Map(contracts.map((contract) => [contract.type, contract]));
  const handleSplitting = async (events: CloudEvent<unknown>[]): Promise<Outcome[]> => {
    try {
      await options.handleMany(events);
      return events.map(() => SUCCESS);
    } catch (error) {
      if (error instanceof DependencyUnavailableError) {
        options.logger.warn({ err: error, events: events.length }, 'events not processed yet; asking for redelivery');
        return events.map(() => failureOf(error));
      }
      if (events.length === 1) {
        options.logger.error(
          { err: error, eventId: events[0]!.id, type: events[0]!.type },
          'handling an event failed; asking for redelivery',
        );
        return [failureOf(error)];
      }
      const half = Math.ceil(events.length / 2);
      return [...(await handleSplitting(events.slice(0, half))), ...(await handleSplitting(events.slice(half)))];
    }
  };
  const apply: EventApplier = async (bodies) => {
    const parsed = await Promise.all(
      bodies.map(async (body): Promise<CloudEvent<unknown> | Outcome> => {
        const type = (body as { type?: unknown } | null)?.type;
        const contract = typeof type === 'string' ? byType.get(type) : undefined;
        if (!contract) return refuseMalformed(body, unknownEventType(type), options);
        try {
          return contract.parse(body);
        } catch (error) {
          if (!(error instanceof ContractViolation)) throw error;
          return refuseMalformed(body, malformationOf(error), { ...options, topicOfContract: contract.topic });
        }
      }),
    );
    const isEvent = (p: CloudEvent<unknown> | Outcome): p is CloudEvent<unknown> => !('status' in p);
    const handled = await handleSplitting(parsed.filter(isEvent));
    let next = 0;
    return parsed.map((p) => (isEvent(p) ? handled[next++]! : p));
  };
  const batch: BatchHandler = async (bodies) => (await apply(bodies)).map((outcome) => outcome.status);
  return { apply, batch };
}

import { cloudEventSchema, ContractViolation, type CloudEvent, type EventContract } from '@caregrid/contracts';
import type { Response } from 'express';
import { z } from 'zod';
import { DependencyUnavailableError } from '../errors.js';
import type { Logger } from '../logger.js';
import { inSpan, SpanKind } from '../tracing.js';

/** Dapr's subscriber contract: 200 with SUCCESS, RETRY (redeliver per Resiliency) or DROP (→ dead-letter topic). */
export type DeliveryStatus = 'SUCCESS' | 'RETRY' | 'DROP';
export const DELIVERY_RESPONSES = { 200: { description: 'Processed: { status: SUCCESS | RETRY | DROP }' } };

/**
 * What a subscriber does with one delivered event, apart from HTTP: the live
 * subscription route and a re-drive of a dead letter call the same function.
 */
export type EventHandler = (event: unknown) => Promise<DeliveryStatus>;

export type MalformedEvent = { id: string; topic: string; type?: string; subject?: string; payload: unknown; reason: string };

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
});

/**
 * The route handler of a bulk subscription (`bulkSubscribe` in its
 * Subscription): Dapr posts up to `maxMessagesCount` events at once and wants
 * a status per entry — a DROP goes to the dead-letter topic, a RETRY comes
 * again, alone or in a later batch.
 */
export function answerBulkDelivery(handler: BatchHandler) {
  return async ({ body, res }: { body: unknown; res: Response }): Promise<void> => {
    const envelope = bulkEnvelope.safeParse(body);
    if (!envelope.success) {
      res.status(400).json({ statuses: [] });
      return;
    }
    const { entries } = envelope.data;
    // A CloudEvent arrives as an object; other content types as the raw string.
    const events = entries.map(({ event }) => {
      if (typeof event !== 'string') return event;
      try {
        return JSON.parse(event) as unknown;
      } catch {
        return event;
      }
    });
    const statuses = await handler(events);
    res.json({ statuses: entries.map(({ entryId }, i) => ({ entryId, status: statuses[i] ?? 'RETRY' })) });
  };
}

/** Events a subscription receives but does not act on (e.g. other types of its topic). */
export const ignoreEvent: EventHandler = async () => 'SUCCESS';

/** One handler per CloudEvent type, as the subscription's routing rules pick them; `otherwise` for the rest. */
export function byEventType(handlers: Record<string, EventHandler>, otherwise: EventHandler = ignoreEvent): EventHandler {
  return (event) => {
    const type = (event as { type?: unknown } | null)?.type;
    const handler = typeof type === 'string' && Object.hasOwn(handlers, type) ? handlers[type]! : otherwise;
    return handler(event);
  };
}

type DeliveryOptions<T> = {
  logger: Logger;
  handle: (event: CloudEvent<T>) => Promise<void>;
  onMalformed?: (event: MalformedEvent) => Promise<void>;
};

/**
 * The handler of a subscription: the delivered CloudEvent parsed by its
 * contract, then handled. A malformed event can never succeed, so it is
 * logged and dropped to the dead-letter topic (after `onMalformed`, e.g. to
 * note why); a dependency that is down asks Dapr to redeliver.
 */
export function deliveryOf<S extends z.ZodType>(contract: EventContract<S>, options: DeliveryOptions<z.output<S>>): EventHandler {
  return async (body) => {
    let event: CloudEvent<z.output<S>>;
    try {
      event = contract.parse(body);
    } catch (error) {
      if (!(error instanceof ContractViolation)) throw error;
      return dropMalformed(body, error.message, contract, options);
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
 * The handlers of a subscription to whole topics, bulk (`bulkSubscribe`) or not: each event
 * parsed by the contract of its type, and the valid ones of a batch handled together
 * (`handleMany`, in delivery order). A malformed event, or one of a type none of `contracts`
 * defines, is dropped as `deliveryOf` drops it; a dependency that is down asks for the batch's
 * valid events again. `single` handles one event alike (a live delivery, a dead letter's re-drive).
 */
export function deliveryByContract(
  contracts: EventContract<z.ZodType>[],
  options: Omit<DeliveryOptions<unknown>, 'handle'> & { handleMany: (events: CloudEvent<unknown>[]) => Promise<void> },
): { batch: BatchHandler; single: EventHandler } {
  const byType = new Map(contracts.map((contract) => [contract.type, contract]));
  const batch: BatchHandler = async (bodies) => {
    const parsed = await Promise.all(
      bodies.map(async (body) => {
        const type = (body as { type?: unknown } | null)?.type;
        const contract = typeof type === 'string' ? byType.get(type) : undefined;
        if (!contract) return dropMalformed(body, `no contract for event type ${String(type)}`, undefined, options);
        try {
          return contract.parse(body);
        } catch (error) {
          if (!(error instanceof ContractViolation)) throw error;
          return dropMalformed(body, error.message, contract, options);
        }
      }),
    );
    const valid = parsed.filter((p): p is CloudEvent<unknown> => typeof p === 'object');
    let status: DeliveryStatus = 'SUCCESS';
    try {
      await options.handleMany(valid);
    } catch (error) {
      if (!(error instanceof DependencyUnavailableError)) throw error;
      options.logger.warn({ err: error, events: valid.length }, 'events not processed yet; asking for redelivery');
      status = 'RETRY';
    }
    return parsed.map((p) => (typeof p === 'object' ? status : p));
  };
  return { batch, single: async (body) => (await batch([body]))[0]! };
}

async function dropMalformed(
  body: unknown,
  reason: string,
  contract: EventContract<z.ZodType> | undefined,
  options: Pick<DeliveryOptions<unknown>, 'logger' | 'onMalformed'>,
): Promise<DeliveryStatus> {
  const envelope = cloudEventSchema.safeParse(body);
  const id = envelope.success ? envelope.data.id : `unidentified-${Date.now()}`;
  options.logger.warn({ eventId: id, reason }, `dropping a malformed ${contract?.type ?? 'event'} to the dead-letter topic`);
  await options.onMalformed?.({
    id,
    topic: (envelope.success ? envelope.data.topic : undefined) ?? contract?.topic ?? '',
    type: envelope.success ? envelope.data.type : undefined,
    subject: envelope.success ? envelope.data.subject : undefined,
    payload: body,
    reason,
  });
  return 'DROP';
}

import { cloudEventSchema, ContractViolation, type CloudEvent, type EventContract } from '@caregrid/contracts';
import type { Response } from 'express';
import type { z } from 'zod';
import { DependencyUnavailableError } from '../errors.js';
import type { Logger } from '../logger.js';

/** Dapr's subscriber contract: 200 with SUCCESS, RETRY (redeliver per Resiliency) or DROP (→ dead-letter topic). */
export type DeliveryStatus = 'SUCCESS' | 'RETRY' | 'DROP';
export const DELIVERY_RESPONSES = { 200: { description: 'Processed: { status: SUCCESS | RETRY | DROP }' } };

export type MalformedEvent = { id: string; type?: string; payload: unknown; reason: string };

/**
 * The handler of a subscription route: the delivered CloudEvent parsed by its
 * contract, then handled. A malformed event can never succeed, so it is
 * logged and dropped to the dead-letter topic (after `onMalformed`, e.g. to
 * record it); a dependency that is down asks Dapr to redeliver.
 */
export function deliveryOf<S extends z.ZodType>(
  contract: EventContract<S>,
  options: {
    logger: Logger;
    handle: (event: CloudEvent<z.output<S>>) => Promise<void>;
    onMalformed?: (event: MalformedEvent) => Promise<void>;
  },
) {
  const answer = (res: Response, status: DeliveryStatus) => res.json({ status });
  return async ({ body, res }: { body: unknown; res: Response }): Promise<void> => {
    let event: CloudEvent<z.output<S>>;
    try {
      event = contract.parse(body);
    } catch (error) {
      if (!(error instanceof ContractViolation)) throw error;
      const envelope = cloudEventSchema.safeParse(body);
      const id = envelope.success ? envelope.data.id : `unidentified-${Date.now()}`;
      options.logger.warn({ eventId: id, reason: error.message }, `dropping a malformed ${contract.type} to the dead-letter topic`);
      await options.onMalformed?.({ id, type: envelope.success ? envelope.data.type : undefined, payload: body, reason: error.message });
      answer(res, 'DROP');
      return;
    }
    try {
      await options.handle(event);
    } catch (error) {
      if (!(error instanceof DependencyUnavailableError)) throw error;
      options.logger.warn({ err: error, eventId: event.id }, `${contract.type} not processed yet; asking for redelivery`);
      answer(res, 'RETRY');
      return;
    }
    answer(res, 'SUCCESS');
  };
}

import { eventContractsOf, Topics } from '@caregrid/contracts';
import {
  answerBulkDelivery,
  ApiRouter,
  DELIVERY_RESPONSES,
  deliveryByContract,
  type DeadLetterStore,
  type EventHandler,
  type Logger,
} from '@caregrid/platform';
import { z } from 'zod';
import type { AnalyticsStore } from '../data/analytics-store.js';

/** Every event of the topics analytics subscribes to. */
const CONTRACTS = eventContractsOf([Topics.patients, Topics.doctors, Topics.appointments, Topics.invoices]);

/**
 * What a delivery of any subscribed topic does: the event checked against its contract on
 * arrival, then stored once by its id and applied to the read models. A malformed event, or one
 * of a type no contract defines, never reaches the reports (their sums and counts trust `data`):
 * it is noted and dropped to the dead-letter topic. The live route and a dead letter's re-drive
 * both call `handle`.
 */
export function subscriptions(deps: { store: AnalyticsStore; deadLetters: DeadLetterStore; logger: Logger }): {
  routes: ApiRouter;
  handle: EventHandler;
} {
  const { store, deadLetters, logger } = deps;
  const deliveries = deliveryByContract(CONTRACTS, {
    logger,
    handleMany: async (events) => {
      const fresh = await store.recordMany(
        events.map(({ id, type, time, data }) => ({ id, type, time, data: data as Record<string, unknown> })),
      );
      const again = fresh.filter((f) => !f).length;
      if (again > 0) logger.info({ again }, 'duplicate deliveries ignored');
    },
    onMalformed: ({ payload, ...dropped }) => deadLetters.noteDropped({ ...dropped, event: payload }),
  });
  // Delivered in batches (bulkSubscribe in dapr/resources/subscriptions.yaml): one write per batch.
  const routes = ApiRouter.forService('analytics-service').add({
    method: 'post',
    path: '/events/record',
    summary: 'Every subscribed topic, in batches: each event checked against its contract, stored once, read models updated',
    tags: ['events'],
    body: z.unknown(),
    responses: DELIVERY_RESPONSES,
    handler: answerBulkDelivery(deliveries.batch),
  });
  return { routes, handle: deliveries.single };
}

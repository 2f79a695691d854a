import { auditRecorded, eventContractsOf, Topics, type AuditEntry } from '@caregrid/contracts';
import {
  answerBulkDelivery,
  ApiRouter,
  applyByEventType,
  deliveryByContract,
  subscriptionRoute,
  type DeadLetterStore,
  type EventApplier,
  type Logger,
} from '@caregrid/platform';
import { reachable } from '@caregrid/platform/mongo';
import type { AnalyticsStore } from '../data/analytics-store.js';
import type { AuditStore } from '../data/audit-store.js';

/** Every event of the topics analytics subscribes to for its reports. */
const CONTRACTS = eventContractsOf([Topics.patients, Topics.doctors, Topics.appointments, Topics.invoices]);

/**
 * What analytics does with what it is delivered, in batches (bulkSubscribe in
 * dapr/resources/subscriptions.yaml), each event checked against its contract on arrival:
 * - the four domain topics: each event stored once by its id and applied to the read models;
 * - `audit`: each entry kept once in the audit trail, never changed.
 * A malformed event, or one of a type no contract defines, never reaches the reports or the trail
 * (their sums and counts trust `data`): it is noted and dropped to the dead-letter topic. One
 * failing event never fails its batch (deliveryByContract splits it). `apply` dispatches by type
 * for the re-drive of dead letters, which comes through the same handlers.
 */
export function subscriptions(deps: { store: AnalyticsStore; audit: AuditStore; deadLetters: DeadLetterStore; logger: Logger }): {
  routes: ApiRouter;
  apply: EventApplier;
} {
  const { store, audit, deadLetters, logger } = deps;
  const onMalformed = ({
    payload,
    ...dropped
  }: {
    id: string;
    topic: string;
    type?: string;
    subject?: string;
    payload: unknown;
    reason: string;
  }) => deadLetters.noteDropped({ ...dropped, event: payload });
  const domainEvents = deliveryByContract(CONTRACTS, {
    logger,
    handleMany: async (events) => {
      // The store unreachable is a RETRY of the whole batch, never a split into 100 timeouts.
      const fresh = await reachable(() =>
        store.recordMany(events.map(({ id, type, time, data }) => ({ id, type, time, data: data as Record<string, unknown> }))),
      );
      const again = fresh.filter((f) => !f).length;
      if (again > 0) logger.info({ again }, 'duplicate deliveries ignored');
    },
    onMalformed,
  });
  const auditEntries = deliveryByContract([auditRecorded], {
    logger,
    handleMany: async (events) => {
      const kept = await reachable(() => audit.appendMany(events.map((event) => event.data as AuditEntry)));
      const again = kept.filter((fresh) => !fresh).length;
      if (again > 0) logger.info({ again }, 'audit entries already kept; redeliveries ignored');
    },
    onMalformed,
  });
  const routes = ApiRouter.forService('analytics-service')
    .add(
      subscriptionRoute(
        '/events/record',
        'Every subscribed topic, in batches: each event checked against its contract, stored once, read models updated',
        answerBulkDelivery(domainEvents.batch),
      ),
    )
    .add(
      subscriptionRoute(
        '/events/audit',
        'Audit entries from the services’ outboxes, in batches: each kept once, never changed',
        answerBulkDelivery(auditEntries.batch),
      ),
    );
  return { routes, apply: applyByEventType({ [auditRecorded.type]: auditEntries.apply }, domainEvents.apply) };
}

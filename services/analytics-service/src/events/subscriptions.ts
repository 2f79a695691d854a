import {
  auditPublisherOf,
  auditRecorded,
  eventContractsOf,
  Topics,
  type AuditEntry,
  type CloudEvent,
  type TrailEntry,
} from '@caregrid/contracts';
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
 * - `audit.<app-id>`: each entry kept once in the audit trail, never changed, as written by the
 *   service whose topic it came on (trailEntryOf); the old `audit` topic is still drained.
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
  const domainEvents = deliveryByContract(CONTRACTS, {
    logger,
    deadLetters,
    handleMany: async (events) => {
      // The store unreachable is a RETRY of the whole batch, never a split into 100 timeouts.
      const fresh = await reachable(() =>
        store.recordMany(events.map(({ id, type, time, data }) => ({ id, type, time, data: data as Record<string, unknown> }))),
      );
      const again = fresh.filter((f) => !f).length;
      if (again > 0) logger.info({ again }, 'duplicate deliveries ignored');
    },
  });
  const auditEntries = deliveryByContract([auditRecorded], {
    logger,
    deadLetters,
    handleMany: async (events) => {
      const entries = events.map(trailEntryOf);
      for (const entry of entries.filter((e) => e.claimedService !== undefined)) {
        logger.warn(
          { entryId: entry.id, publisher: entry.service, claimed: entry.claimedService },
          'audit entry claims another service than the one that published it: kept as the publisher’s, its claim noted',
        );
      }
      const kept = await reachable(() => audit.appendMany(entries));
      const again = kept.filter((fresh) => !fresh).length;
      if (again > 0) logger.info({ again }, 'audit entries already kept; redeliveries ignored');
    },
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
        'Audit entries from the services’ outboxes (topic audit.<app-id>), in batches: each kept once, never changed, as the publishing service’s',
        answerBulkDelivery(auditEntries.batch, { topicOfSubscription: true }),
      ),
    );
  return { routes, apply: applyByEventType({ [auditRecorded.type]: auditEntries.apply }, domainEvents.apply) };
}

/**
 * An entry as the trail keeps it. Its `service` is the publisher the topic names: only that
 * service's sidecar may publish on `audit.<app-id>` (the pub/sub scopes, and the broker's ACLs),
 * whatever the entry says of itself. An entry claiming another service is kept — refused, it would
 * go to the dead letters and the access it records would be lost — under its publisher, with the
 * claim in `claimedService` for an admin to see. An entry from the old shared `audit` topic has
 * nothing better than its own word (`via: audit`).
 */
export function trailEntryOf(event: CloudEvent<unknown>): TrailEntry {
  const entry = event.data as AuditEntry;
  const topic = event.topic ?? Topics.audit;
  const publisher = auditPublisherOf(topic);
  if (!publisher) return { ...entry, via: topic };
  return { ...entry, service: publisher, via: topic, ...(entry.service !== publisher ? { claimedService: entry.service } : {}) };
}

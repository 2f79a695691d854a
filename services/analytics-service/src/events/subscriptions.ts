import { auditRecorded, eventContractsOf, Topics } from '@caregrid/contracts';
import {
  answerBulkDelivery,
  ApiRouter,
  applyByEventType,
  deliveryByContract,
  subscriptionRoute,
  type DeadLetterStore,
  type Logger,
  type ServiceSubscriptions,
} from '@caregrid/platform';
import { reachable } from '@caregrid/platform/mongo';
import type { AnalyticsUseCases } from '../use-cases.js';

/** Every event of the topics analytics subscribes to for its reports. */
const CONTRACTS = eventContractsOf([Topics.patients, Topics.doctors, Topics.appointments, Topics.invoices]);

/**
 * What analytics does with what it is delivered, in batches (bulkSubscribe in
 * dapr/resources/subscriptions.yaml), each event checked against its contract on arrival:
 * - the four domain topics: each event stored once by its id and applied to the read models;
 * - `audit.<app-id>`: each entry kept once in the audit trail, never changed, as written by the
 *   service whose topic it came on (domain/audit-trail.ts); the old `audit` topic is still drained.
 * A malformed event, or one of a type no contract defines, never reaches the reports or the trail
 * (their sums and counts trust `data`): it is noted and dropped to the dead-letter topic. One
 * failing event never fails its batch (deliveryByContract splits it). `apply` dispatches by type
 * for the re-drive of dead letters, which comes through the same handlers: audit entries to the
 * trail, every other event to the read models.
 */
export function subscriptions(deps: { analytics: AnalyticsUseCases; deadLetters: DeadLetterStore; logger: Logger }): ServiceSubscriptions {
  const { analytics, deadLetters, logger } = deps;
  // The store unreachable is a RETRY of the whole batch, never a split into 100 timeouts.
  const domainEvents = deliveryByContract(CONTRACTS, {
    logger,
    deadLetters,
    handleMany: (events) => reachable(() => analytics.recordEvents(events)),
  });
  const auditEntries = deliveryByContract([auditRecorded], {
    logger,
    deadLetters,
    handleMany: (events) => reachable(() => analytics.recordAuditBatch(events)),
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
  return { routes, apply: applyByEventType({ [auditRecorded.type]: auditEntries.apply }, domainEvents.apply), deadLetters };
}

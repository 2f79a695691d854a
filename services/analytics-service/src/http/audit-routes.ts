import { z } from 'zod';
import { auditPage, auditRecorded, ContractViolation } from '@caregrid/contracts';
import {
  answerBulkDelivery,
  ApiRouter,
  DELIVERY_RESPONSES,
  deliveryOf,
  pageQuerySchema,
  timestamp,
  type BatchHandler,
  type EventHandler,
  type Logger,
} from '@caregrid/platform';
import type { AuditStore } from '../data/audit-store.js';

export const auditQuery = z.strictObject({
  patientId: z.uuid().optional(),
  actor: z.string().trim().min(1).max(200).optional().describe('A user id, or the app-id of a peer service'),
  from: timestamp.optional(),
  to: timestamp.optional(),
  ...pageQuerySchema,
});

/** An audit entry as delivered (live, or re-driven from the dead letters): kept once, never changed. */
export function auditRecorder(store: AuditStore, logger: Logger): EventHandler {
  return deliveryOf(auditRecorded, {
    logger,
    handle: async (event) => {
      if (!(await store.append(event.data))) logger.info({ eventId: event.id }, 'audit entry already kept; redelivery ignored');
    },
  });
}

/**
 * Audit entries as a bulk subscription delivers them: each checked against the
 * contract (a malformed one is dropped to the dead letters), the rest kept in
 * one write. The trail receives an entry per read of patient data, so it must
 * keep up with the reads of the whole clinic.
 */
export function auditBatchRecorder(store: AuditStore, logger: Logger): BatchHandler {
  return async (events) => {
    const parsed = events.map((event) => {
      try {
        return auditRecorded.parse(event);
      } catch (error) {
        if (!(error instanceof ContractViolation)) throw error;
        logger.warn({ reason: error.message }, 'dropping a malformed audit entry to the dead-letter topic');
        return undefined;
      }
    });
    try {
      const kept = await store.appendMany(parsed.flatMap((event) => (event ? [event.data] : [])));
      const again = kept.filter((fresh) => !fresh).length;
      if (again > 0) logger.info({ again }, 'audit entries already kept; redeliveries ignored');
    } catch (error) {
      logger.warn({ err: error }, 'audit entries not stored yet; asking for redelivery');
      return parsed.map((event) => (event ? 'RETRY' : 'DROP'));
    }
    return parsed.map((event) => (event ? 'SUCCESS' : 'DROP'));
  };
}

/** The audit trail: read by admins (and by patient-service for a patient's access log), appended only by events. */
export function auditRoutes(
  store: AuditStore,
  recordEntries: BatchHandler,
  settings: { retentionDays: number },
  logger: Logger,
): ApiRouter {
  return ApiRouter.forService('analytics-service')
    .add({
      method: 'get',
      path: '/audit',
      summary: 'The audit trail of access to patient data, newest first, by patient, actor and time (admin)',
      tags: ['audit'],
      query: auditQuery,
      responses: {
        200: { description: 'A page of entries', schema: auditPage },
        400: { description: 'Invalid filter' },
        403: { description: 'Admins only' },
      },
      handler: async ({ query, res }) => {
        res.json(
          await store.find({
            ...query,
            from: query.from ? new Date(query.from) : undefined,
            to: query.to ? new Date(query.to) : undefined,
          }),
        );
      },
    })
    .add({
      method: 'post',
      path: '/events/audit',
      summary: 'Audit entries from the services’ outboxes, in bulk: each kept once, never changed',
      tags: ['events'],
      body: z.unknown(),
      responses: DELIVERY_RESPONSES,
      handler: answerBulkDelivery(recordEntries),
    })
    .add({
      method: 'post',
      path: '/audit-retention',
      summary: 'Input of the audit-retention cron binding: entries older than the retention period removed (sidecar only)',
      tags: ['internal'],
      responses: { 200: { description: 'How many entries were removed' } },
      handler: async ({ res }) => {
        const cutoff = new Date(Date.now() - settings.retentionDays * 86_400_000);
        const removed = await store.purgeOlderThan(cutoff);
        logger.info({ removed, cutoff }, 'audit retention applied');
        res.json({ removed, cutoff: cutoff.toISOString() });
      },
    });
}
